import {
  asksForTls,
  authorityInjection,
  authorityVariableKeys,
  ConflictError,
  type ContainerFile,
  connectionUrl,
  generateCredentials,
  injectedVariableKey,
  linkPrefix,
  linkVariableKeys,
  linkVariables,
  NotFoundError,
  type SecretBox,
  type ServiceCredentials,
  type ServiceType,
  serviceContainerName,
  serviceEngine,
  serviceNetwork,
  serviceVolume,
  type UrlParams,
  ValidationError,
} from '@pier/core';
import { and, asc, eq, inArray, ne, or, sql } from 'drizzle-orm';
import { SERVICE_OPS_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { environments, managedServices, serviceLinks, variables } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';
import {
  authorityCertificate,
  type CertificateAuthority,
  keepAuthority,
  readAuthority,
  SERVICES_AUTHORITY,
} from './service-authority.ts';
import { linkedEnvironmentNames, linksOf, type ServiceLink } from './service-links.ts';
import { addOperation } from './service-operation-store.ts';
import { addLinkRole, linkRolePassword, retireLinkRoles } from './service-role-store.ts';

export type { ServiceLink };

export type ServiceRow = typeof managedServices.$inferSelect;

export interface NewService {
  name: string;
  type: ServiceType;
  version: string;
  image: string;
  backupSchedule?: string;
  backupRetention?: number;
  ownerEnvironmentId?: string | null;
}

export interface Injection {
  variables: Record<string, string>;
  /** The URL variable of each link (`DATABASE_URL`, `SHOP_REDIS_URL`); its other variables came later and yield to a user's. */
  urlVariables: string[];
  networks: string[];
  /** The installation's CA certificate (`/etc/pier/ca.crt`) when a service that speaks TLS is linked. */
  files: ContainerFile[];
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

  /**
   * A new service in `provisioning` with fresh sealed credentials, and its
   * provision operation, in one transaction; inside `outer` (a savepoint of it)
   * when given, so that a refusal leaves `outer` usable.
   */
  async create(input: NewService, outer?: Tx): Promise<ServiceRow> {
    const id = crypto.randomUUID();
    const sealed = this.box.seal(JSON.stringify(generateCredentials(input.type, input.name)), credentialsContext(id));
    try {
      return await (outer ?? this.db).transaction(async (tx) => {
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

  /** The superuser's URL on the service's network (what `?reveal=true` shows). */
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

  /** Removes the row: its links and operations cascade; its backups' records stay, `service_id` null. */
  async remove(id: string): Promise<void> {
    await this.db.delete(managedServices).where(eq(managedServices.id, id));
  }

  // ---- links -------------------------------------------------------------------------------

  /**
   * Links a ready service to an environment; refused when a user variable has
   * the name it would inject. `allowProvisioning` links one still being made
   * (a preview's own database): deployments wait until it is ready. Inside
   * `outer` (a savepoint of it) when given.
   */
  async link(
    environmentId: string,
    serviceId: string,
    options: { allowProvisioning?: boolean; urlParams?: UrlParams } = {},
    outer?: Tx,
  ): Promise<ServiceLink> {
    const urlParams = options.urlParams ?? {};
    return (outer ?? this.db).transaction(async (tx) => {
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
      // Every name it would set (PGHOST…, the CA's), not only the URL's: a user variable is never silently overridden.
      const types = [...existing.map((l) => l.service.type), service.type];
      const injected = [...linkVariableKeys(service.type, variable, urlParams), ...authorityVariableKeys(types)];
      const clashes = await tx
        .select({ key: variables.key })
        .from(variables)
        .where(and(eq(variables.environmentId, environmentId), inArray(variables.key, injected)))
        .orderBy(asc(variables.key));
      if (clashes.length > 0) {
        const names = clashes.map((c) => c.key).join(', ');
        throw new ValidationError(
          `service: linking ${service.name} would inject ${names}, already ${clashes.length > 1 ? 'variables' : 'a variable'} of this environment; remove or rename ${clashes.length > 1 ? 'them' : 'it'} first`,
          'service',
        );
      }
      const [row] = await tx.insert(serviceLinks).values({ environmentId, serviceId, variable, urlParams }).returning();
      // Engines with link roles (Postgres): a login role of the link's own, which the worker creates (woken here) before any replica gets the URL.
      const role = serviceEngine(service.type).linkRoles ? await addLinkRole(tx, this.box, serviceId, environmentId) : null;
      if (role) await tx.execute(sql`select pg_notify(${SERVICE_OPS_CHANNEL}, ${serviceId})`);
      return { service, variable, urlParams, role, createdAt: (row as { createdAt: Date }).createdAt };
    });
  }

  /** Removes the link; its role is dropped by the worker once the replicas started before now are gone. */
  async unlink(environmentId: string, serviceId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const removed = await tx
        .delete(serviceLinks)
        .where(and(eq(serviceLinks.environmentId, environmentId), eq(serviceLinks.serviceId, serviceId)))
        .returning();
      if (removed.length === 0) throw new NotFoundError('the service is not linked to this environment');
      await retireLinkRoles(tx, serviceId, environmentId);
      await tx.execute(sql`select pg_notify(${SERVICE_OPS_CHANNEL}, ${serviceId})`);
    });
  }

  links(environmentId: string): Promise<ServiceLink[]> {
    return linksOf(this.db, environmentId);
  }

  /** Names of environments (`app/env`) linked to the service. */
  linkedEnvironments(serviceId: string): Promise<string[]> {
    return linkedEnvironmentNames(this.db, serviceId);
  }

  /**
   * The variables, networks and files the environment's linked services add
   * to a release, computed at each start: an unlinked service's are gone from
   * the next replica on. Never logged.
   */
  async injection(environmentId: string): Promise<Injection> {
    const links = await this.links(environmentId);
    const types = links.map((l) => l.service.type);
    const authority = authorityInjection(
      types,
      types.length > 0 ? await authorityCertificate(this.db, SERVICES_AUTHORITY) : null,
      links.some((l) => l.service.type === 'postgres' && asksForTls(l.urlParams)),
    );
    const variables: Record<string, string> = { ...authority.variables };
    const secrets: string[] = [];
    for (const link of links) {
      const linked = linkVariables(link.service.type, link.variable, this.linkEndpoint(link), link.urlParams);
      Object.assign(variables, linked);
      const prefix = linkPrefix(link.service.type, link.variable);
      secrets.push(
        linked[link.variable] as string,
        ...serviceEngine(link.service.type).secretParts.map((part) => linked[`${prefix}${part}`] as string),
      );
    }
    return {
      variables,
      urlVariables: links.map((l) => l.variable),
      networks: links.map((l) => serviceNetwork(l.service.name)),
      files: authority.files,
      secrets: [
        ...secrets,
        ...links.map((l) => this.credentials(l.service).password),
        ...links.flatMap((l) => (l.role ? [linkRolePassword(this.box, l.role)] : [])),
      ],
    };
  }

  /** The names of the variables the environment's links inject (no value is opened). */
  async injectedVariableNames(environmentId: string): Promise<string[]> {
    const links = await this.links(environmentId);
    return [
      ...links.flatMap((l) => linkVariableKeys(l.service.type, l.variable, l.urlParams)),
      ...authorityVariableKeys(links.map((l) => l.service.type)),
    ];
  }

  /** Where and as whom a link connects: as the link's own role when it has one. */
  private linkEndpoint(link: Pick<ServiceLink, 'service' | 'role'>): { host: string; credentials: ServiceCredentials } {
    const host = serviceContainerName(link.service.name);
    if (!link.role) return { host, credentials: this.credentials(link.service) };
    const { database } = this.credentials(link.service);
    return { host, credentials: { user: link.role.name, password: linkRolePassword(this.box, link.role), database } };
  }

  // ---- the installation's CA ---------------------------------------------------------------

  /** The CA that signs managed Postgres certificates, key opened; null until the worker has made it. */
  authority(): Promise<CertificateAuthority | null> {
    return readAuthority(this.db, this.box, SERVICES_AUTHORITY);
  }

  /** Keeps `made` as the CA unless another worker kept one first; returns the one kept. */
  keepAuthority(made: CertificateAuthority): Promise<CertificateAuthority> {
    return keepAuthority(this.db, this.box, SERVICES_AUTHORITY, made);
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
