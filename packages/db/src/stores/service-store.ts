import {
  ConflictError,
  connectionUrl,
  generateCredentials,
  injectedVariableKey,
  NotFoundError,
  type SecretBox,
  type ServiceCredentials,
  type ServiceType,
  serviceContainerName,
  serviceNetwork,
  serviceVolume,
  ValidationError,
} from '@pier/core';
import { and, asc, desc, eq, inArray, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { environments, managedServices, serviceBackups, serviceLinks, serviceOperations, variables } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';

export type ServiceRow = typeof managedServices.$inferSelect;
export type BackupRow = typeof serviceBackups.$inferSelect;
export type OperationRow = typeof serviceOperations.$inferSelect;
export type OperationKind = OperationRow['kind'];

/** Channel the worker listens on for new service operations. */
export const SERVICE_OPS_CHANNEL = 'pier_service_ops';

export interface NewService {
  name: string;
  type: ServiceType;
  version: string;
  image: string;
  backupSchedule?: string;
  backupRetention?: number;
  ownerEnvironmentId?: string | null;
}

export interface ServiceLink {
  service: ServiceRow;
  /** The variable it injects into the environment. */
  variable: string;
  createdAt: Date;
}

/** What linked services add to a release: variables and the networks its replicas join. */
export interface Injection {
  variables: Record<string, string>;
  networks: string[];
  /** Every secret in `variables` (URLs and the raw passwords), for masking logs. */
  secrets: string[];
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Managed Postgres/Redis services: rows with sealed credentials, their links
 * to environments, and the durable operations (provision, backup, restore,
 * delete) the worker claims with a lease.
 */
export class ServiceStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** A new service in `provisioning` with fresh sealed credentials, and its provision operation, in one transaction. */
  async create(input: NewService): Promise<ServiceRow> {
    const id = crypto.randomUUID();
    const sealed = this.box.seal(JSON.stringify(generateCredentials(input.type, input.name)), credentialsContext(id));
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(managedServices)
          .values({
            id,
            name: input.name,
            type: input.type,
            version: input.version,
            image: input.image,
            credentialsCiphertext: sealed.ciphertext,
            keyId: sealed.keyId,
            volumeName: serviceVolume(input.name, id),
            ownerEnvironmentId: input.ownerEnvironmentId ?? null,
            ...(input.backupSchedule ? { backupSchedule: input.backupSchedule } : {}),
            ...(input.backupRetention ? { backupRetention: input.backupRetention } : {}),
          })
          .returning();
        if (!row) throw new Error('insert returned no row');
        await addOperation(tx, id, 'provision');
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`name: a service named ${input.name} already exists`);
      throw err;
    }
  }

  async list(): Promise<ServiceRow[]> {
    return this.db.select().from(managedServices).orderBy(asc(managedServices.name));
  }

  /** By name or id. */
  async get(ref: string): Promise<ServiceRow> {
    const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(ref);
    const [row] = await this.db
      .select()
      .from(managedServices)
      .where(isId ? or(eq(managedServices.id, ref), eq(managedServices.name, ref)) : eq(managedServices.name, ref));
    if (!row) throw new NotFoundError(`service ${ref} not found`);
    return row;
  }

  async byId(id: string): Promise<ServiceRow | null> {
    const [row] = await this.db.select().from(managedServices).where(eq(managedServices.id, id));
    return row ?? null;
  }

  /** The service's credentials. Never logged, never put in a job payload. */
  credentials(service: ServiceRow): ServiceCredentials {
    return JSON.parse(
      this.box.open({ keyId: service.keyId, ciphertext: service.credentialsCiphertext }, credentialsContext(service.id)),
    );
  }

  /** The URL apps on the service's network use. */
  url(service: ServiceRow): string {
    return connectionUrl(service.type, serviceContainerName(service.name), this.credentials(service));
  }

  async update(id: string, change: { backupSchedule?: string; backupRetention?: number }): Promise<ServiceRow> {
    const [row] = await this.db
      .update(managedServices)
      .set({ ...change, updatedAt: new Date() })
      .where(eq(managedServices.id, id))
      .returning();
    if (!row) throw new NotFoundError('service not found');
    return row;
  }

  async setState(
    id: string,
    state: ServiceRow['state'],
    extra: { containerId?: string | null; lastError?: string | null; readyAt?: Date } = {},
  ): Promise<void> {
    // A service being deleted stays so: a provision that finishes late must not bring it back.
    await this.db
      .update(managedServices)
      .set({ state, ...extra, updatedAt: new Date() })
      .where(and(eq(managedServices.id, id), ne(managedServices.state, 'deleting')));
  }

  async setContainer(id: string, containerId: string): Promise<void> {
    await this.db.update(managedServices).set({ containerId, updatedAt: new Date() }).where(eq(managedServices.id, id));
  }

  /** Marks it `deleting` and queues the removal; refused while environments are linked to it. */
  async requestDelete(id: string, deleteData: boolean): Promise<ServiceRow> {
    return this.db.transaction(async (tx) => {
      const [service] = await tx.select().from(managedServices).where(eq(managedServices.id, id)).for('update');
      if (!service) throw new NotFoundError('service not found');
      const linked = await linkedEnvironmentNames(tx, id);
      if (linked.length > 0 && !service.ownerEnvironmentId) {
        throw new ConflictError(`service ${service.name} is linked to ${linked.join(', ')}; unlink it first`);
      }
      const [row] = await tx
        .update(managedServices)
        .set({ state: 'deleting', updatedAt: new Date() })
        .where(eq(managedServices.id, id))
        .returning();
      await addOperation(tx, id, 'delete', { options: { deleteData } });
      return row as ServiceRow;
    });
  }

  /** Removes the row (its links, backups records and operations cascade). */
  async remove(id: string): Promise<void> {
    await this.db.delete(managedServices).where(eq(managedServices.id, id));
  }

  // ---- links -------------------------------------------------------------------------------

  /**
   * Links a ready service to an environment; refused when a user variable has
   * the name it would inject. `allowProvisioning` links one still being made
   * (a preview's own database): deployments wait until it is ready.
   */
  async link(environmentId: string, serviceId: string, options: { allowProvisioning?: boolean } = {}): Promise<ServiceLink> {
    return this.db.transaction(async (tx) => {
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, environmentId)).for('update');
      // Locked: a concurrent delete (which counts links under the same lock) cannot slip in between.
      const [service] = await tx.select().from(managedServices).where(eq(managedServices.id, serviceId)).for('update');
      if (!service) throw new NotFoundError('service not found');
      if (service.state !== 'ready' && !(options.allowProvisioning && service.state === 'provisioning')) {
        throw new ConflictError(`service ${service.name} is ${service.state}; it can be linked once it is ready`);
      }
      const existing = await linksOf(tx, environmentId);
      if (existing.some((l) => l.service.id === serviceId)) {
        throw new ConflictError(`service ${service.name} is already linked to this environment`);
      }
      // DATABASE_URL / REDIS_URL unless a linked service already injects it; then <NAME>_DATABASE_URL.
      const primary = injectedVariableKey(service.type, service.name, true);
      const variable = injectedVariableKey(service.type, service.name, !existing.some((l) => l.variable === primary));
      const [clash] = await tx
        .select({ key: variables.key })
        .from(variables)
        .where(and(eq(variables.environmentId, environmentId), eq(variables.key, variable)));
      if (clash) {
        throw new ValidationError(
          `service: linking ${service.name} would inject ${variable}, which is already a variable of this environment; remove or rename that variable first`,
          'service',
        );
      }
      const [row] = await tx.insert(serviceLinks).values({ environmentId, serviceId, variable }).returning();
      return { service, variable, createdAt: (row as { createdAt: Date }).createdAt };
    });
  }

  async unlink(environmentId: string, serviceId: string): Promise<void> {
    const removed = await this.db
      .delete(serviceLinks)
      .where(and(eq(serviceLinks.environmentId, environmentId), eq(serviceLinks.serviceId, serviceId)))
      .returning();
    if (removed.length === 0) throw new NotFoundError('the service is not linked to this environment');
  }

  links(environmentId: string): Promise<ServiceLink[]> {
    return linksOf(this.db, environmentId);
  }

  /** Names of environments (`app/env`) linked to the service. */
  linkedEnvironments(serviceId: string): Promise<string[]> {
    return linkedEnvironmentNames(this.db, serviceId);
  }

  /** The variables and networks the environment's linked services add to a release. Never logged. */
  async injection(environmentId: string): Promise<Injection> {
    const links = await this.links(environmentId);
    const variables = Object.fromEntries(links.map((l) => [l.variable, this.url(l.service)]));
    return {
      variables,
      networks: links.map((l) => serviceNetwork(l.service.name)),
      secrets: [...Object.values(variables), ...links.map((l) => this.credentials(l.service).password)],
    };
  }

  // ---- operations --------------------------------------------------------------------------

  /**
   * Queues a provision of a service whose container was seen gone or stopped,
   * unless something changed since it was seen: it is no longer `expectState`,
   * its container is no longer `observedContainerId` (a re-creation just
   * finished), or an operation is pending or running. True when queued.
   */
  async requestReprovision(
    serviceId: string,
    observedContainerId: string | null,
    expectState: ServiceRow['state'],
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(managedServices).where(eq(managedServices.id, serviceId)).for('update');
      if (!row || row.state !== expectState || row.containerId !== observedContainerId) return false;
      const [active] = await tx
        .select({ id: serviceOperations.id })
        .from(serviceOperations)
        .where(and(eq(serviceOperations.serviceId, serviceId), inArray(serviceOperations.state, ['pending', 'running'])))
        .limit(1);
      if (active) return false;
      await addOperation(tx, serviceId, 'provision');
      return true;
    });
  }

  async addOperation(
    serviceId: string,
    kind: OperationKind,
    extra: { backupId?: string; options?: object } = {},
  ): Promise<OperationRow> {
    return this.db.transaction((tx) => addOperation(tx, serviceId, kind, extra));
  }

  /**
   * Claims the oldest operation that is pending, or running with an expired
   * lease (its worker died), for `leaseMs`. Operations of one service run one
   * at a time, in order.
   */
  async claimOperation(leaseMs: number): Promise<OperationRow | null> {
    const rows = await this.db.execute<{ id: string }>(sql`
      update service_operations set state = 'running', attempts = attempts + 1,
        locked_until = now() + ${`${leaseMs} milliseconds`}::interval
      where id = (
        select o.id from service_operations o
        where ((o.state = 'pending' and (o.locked_until is null or o.locked_until < now()))
            or (o.state = 'running' and o.locked_until < now()))
          and not exists (
            select 1 from service_operations p
            where p.service_id = o.service_id and p.id <> o.id
              and ((p.created_at < o.created_at and p.state in ('pending', 'running'))
                or (p.state = 'running' and p.locked_until >= now()))
          )
        order by o.created_at
        limit 1
        for update skip locked
      )
      returning id`);
    const id = rows[0]?.id;
    if (!id) return null;
    const [row] = await this.db.select().from(serviceOperations).where(eq(serviceOperations.id, id));
    return row ?? null;
  }

  async renewOperation(id: string, leaseMs: number): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ lockedUntil: new Date(Date.now() + leaseMs) })
      .where(and(eq(serviceOperations.id, id), eq(serviceOperations.state, 'running')));
  }

  /** Puts a failed operation back, to be claimed again no sooner than `delayMs` from now (the same row: no pile-up). */
  async retryOperation(id: string, delayMs: number, error: string): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ state: 'pending', error, lockedUntil: new Date(Date.now() + delayMs) })
      .where(eq(serviceOperations.id, id));
  }

  async finishOperation(id: string, error?: string): Promise<void> {
    await this.db
      .update(serviceOperations)
      .set({ state: error ? 'failed' : 'done', error: error ?? null, finishedAt: new Date(), lockedUntil: null })
      .where(eq(serviceOperations.id, id));
  }

  async operations(serviceId: string, limit = 20): Promise<OperationRow[]> {
    return this.db
      .select()
      .from(serviceOperations)
      .where(eq(serviceOperations.serviceId, serviceId))
      .orderBy(desc(serviceOperations.createdAt))
      .limit(limit);
  }

  // ---- backups -----------------------------------------------------------------------------

  /** A pending backup and the operation that makes it; a scheduled slot is taken once (null when already taken). */
  async requestBackup(serviceId: string, trigger: 'manual' | 'scheduled', scheduledFor?: Date): Promise<BackupRow | null> {
    return this.db.transaction(async (tx) => {
      const [backup] = await tx
        .insert(serviceBackups)
        .values({ serviceId, trigger, scheduledFor: scheduledFor ?? null })
        .onConflictDoNothing()
        .returning();
      if (!backup) return null;
      await addOperation(tx, serviceId, 'backup', { backupId: backup.id });
      return backup;
    });
  }

  /** A restore of `backupId` into `serviceId` (the same service or another of the same type). */
  async requestRestore(serviceId: string, backupId: string): Promise<OperationRow> {
    return this.addOperation(serviceId, 'restore', { backupId });
  }

  /** A re-verification of an existing backup (its file may have changed on disk). */
  async requestVerify(backup: BackupRow): Promise<OperationRow> {
    return this.addOperation(backup.serviceId, 'backup', { backupId: backup.id, options: { verifyOnly: true } });
  }

  async backup(id: string): Promise<BackupRow> {
    const [row] = await this.db.select().from(serviceBackups).where(eq(serviceBackups.id, id));
    if (!row) throw new NotFoundError(`backup ${id} not found`);
    return row;
  }

  async backups(serviceId: string, limit = 100): Promise<BackupRow[]> {
    return this.db
      .select()
      .from(serviceBackups)
      .where(eq(serviceBackups.serviceId, serviceId))
      .orderBy(desc(serviceBackups.createdAt))
      .limit(limit);
  }

  async updateBackup(id: string, change: Partial<Omit<BackupRow, 'id' | 'serviceId'>>): Promise<void> {
    await this.db.update(serviceBackups).set(change).where(eq(serviceBackups.id, id));
  }

  /** Good backups beyond the newest `keep`, and failed ones older than a day: removed from the table and returned (for their files). */
  async pruneBackups(serviceId: string, keep: number): Promise<BackupRow[]> {
    const good = await this.db
      .select()
      .from(serviceBackups)
      .where(and(eq(serviceBackups.serviceId, serviceId), eq(serviceBackups.state, 'good')))
      .orderBy(desc(serviceBackups.createdAt));
    const failedOld = await this.db
      .select()
      .from(serviceBackups)
      .where(
        and(
          eq(serviceBackups.serviceId, serviceId),
          eq(serviceBackups.state, 'failed'),
          lt(serviceBackups.createdAt, new Date(Date.now() - 24 * 3600_000)),
        ),
      );
    const doomed = [...good.slice(keep), ...failedOld];
    if (doomed.length > 0) {
      await this.db.delete(serviceBackups).where(
        inArray(
          serviceBackups.id,
          doomed.map((b) => b.id),
        ),
      );
    }
    return doomed;
  }

  /** When the last scheduled backup slot of the service was. */
  async lastScheduledSlot(serviceId: string): Promise<Date | null> {
    const [row] = await this.db
      .select({ at: sql<Date | null>`max(${serviceBackups.scheduledFor})` })
      .from(serviceBackups)
      .where(eq(serviceBackups.serviceId, serviceId));
    return row?.at ? new Date(row.at) : null;
  }
}

/**
 * In the transaction that deletes an environment: its own services (a
 * preview's database) are marked `deleting`, data included, and their
 * removal queued, so the close and the clean-up commit together.
 */
export async function scheduleOwnedServiceDeletion(tx: Tx, environmentId: string): Promise<string[]> {
  const owned = await tx
    .update(managedServices)
    .set({ state: 'deleting', updatedAt: new Date() })
    .where(eq(managedServices.ownerEnvironmentId, environmentId))
    .returning({ id: managedServices.id, name: managedServices.name });
  for (const service of owned) await addOperation(tx, service.id, 'delete', { options: { deleteData: true } });
  return owned.map((s) => s.name);
}

function credentialsContext(serviceId: string): string {
  return `service-credentials:${serviceId}`;
}

async function addOperation(
  tx: Tx,
  serviceId: string,
  kind: OperationKind,
  extra: { backupId?: string; options?: object } = {},
): Promise<OperationRow> {
  const [row] = await tx
    .insert(serviceOperations)
    .values({ serviceId, kind, backupId: extra.backupId ?? null, options: extra.options ?? {} })
    .returning();
  await tx.execute(sql`select pg_notify(${SERVICE_OPS_CHANNEL}, ${serviceId})`);
  return row as OperationRow;
}

async function linksOf(db: Db | Tx, environmentId: string): Promise<ServiceLink[]> {
  const rows = await db
    .select({ service: managedServices, createdAt: serviceLinks.createdAt, variable: serviceLinks.variable })
    .from(serviceLinks)
    .innerJoin(managedServices, eq(serviceLinks.serviceId, managedServices.id))
    .where(eq(serviceLinks.environmentId, environmentId))
    .orderBy(asc(serviceLinks.createdAt), asc(managedServices.name));
  const seen = new Set<string>();
  return rows.map((row) => {
    // Links made before the name was stored get it by link order, as then.
    const variable = row.variable ?? injectedVariableKey(row.service.type, row.service.name, !seen.has(row.service.type));
    seen.add(row.service.type);
    return { service: row.service, variable, createdAt: row.createdAt };
  });
}

async function linkedEnvironmentNames(db: Db | Tx, serviceId: string): Promise<string[]> {
  const rows = await db.execute<{ name: string }>(sql`
    select a.name || '/' || e.name as name from service_links l
    join environments e on e.id = l.environment_id join apps a on a.id = e.app_id
    where l.service_id = ${serviceId} order by 1`);
  return rows.map((r) => r.name);
}
