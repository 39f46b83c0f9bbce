import { generatePassword, linkRoleName, SERVICE_TYPES, type SecretBox, serviceEngine } from '@pier/core';
import { and, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { serviceLinkRoles } from '../schema.ts';

export type LinkRoleRow = typeof serviceLinkRoles.$inferSelect;

/** A link role as the worker sets it up: its name and (opened) password. */
export interface LinkRole {
  id: string;
  name: string;
  password: string;
}

/** What the worker does to a service's roles in one pass. */
export interface LinkRolePlan {
  /** Roles that must exist and log in: those of links, and of unlinked environments whose old replicas still run. */
  keep: LinkRole[];
  /** Ids of unlinked roles nothing uses any more: dropped from the database, then forgotten. */
  drop: string[];
  /** Environments linked before link roles existed (they use the superuser's URL until one is made). */
  legacy: string[];
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The rows of `service_link_roles`: one Postgres login role per link, so
 * linked apps never hold the superuser's password. The API records a role with
 * the link (`addLinkRole`) and marks it when unlinking (`retireLinkRoles`);
 * the worker's `roles` operation creates, re-creates and drops them in the
 * service's database and records what it did here.
 */
export class ServiceRoleStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** The roles of one service: which must exist, which can go, which links have none yet. */
  async plan(serviceId: string): Promise<LinkRolePlan> {
    const rows = await this.db.execute<LinkRoleRow & { droppable: boolean }>(sql`
      select r.id, r.name, r.password_ciphertext as "passwordCiphertext", r.key_id as "keyId",
        ${droppable(sql.raw('r'))} as droppable
      from service_link_roles r where r.service_id = ${serviceId} order by r.created_at`);
    const legacy = await this.db.execute<{ environmentId: string }>(sql`
      select l.environment_id as "environmentId" from service_links l
      join managed_services s on s.id = l.service_id
      where l.service_id = ${serviceId} and ${hasLinkRoles(sql.raw('s'))} and ${withoutRole(sql.raw('l'))}
      order by l.created_at`);
    return {
      keep: rows.filter((r) => !r.droppable).map((r) => ({ id: r.id, name: r.name, password: linkRolePassword(this.box, r) })),
      drop: rows.filter((r) => r.droppable).map((r) => r.id),
      legacy: legacy.map((l) => l.environmentId),
    };
  }

  /**
   * Services whose roles need the worker: a role not yet created, a link
   * without one (made before link roles), or an unlinked role nothing uses.
   */
  async servicesWithWork(): Promise<string[]> {
    const rows = await this.db.execute<{ id: string }>(sql`
      select s.id from managed_services s
      where ${hasLinkRoles(sql.raw('s'))} and s.state in ('provisioning', 'ready') and (
        exists (select 1 from service_link_roles r where r.service_id = s.id
          and ((r.ready_at is null and r.unlinked_at is null and r.environment_id is not null) or ${droppable(sql.raw('r'))}))
        or exists (select 1 from service_links l where l.service_id = s.id and ${withoutRole(sql.raw('l'))}))`);
    return rows.map((r) => r.id);
  }

  /** Fresh roles for the links of `environmentIds` (not yet recorded): the worker creates them, then `adopt`s them. */
  newRoles(environmentIds: string[]): (LinkRole & { environmentId: string })[] {
    return environmentIds.map((environmentId) => {
      const id = crypto.randomUUID();
      return { id, name: linkRoleName(id), password: generatePassword(), environmentId };
    });
  }

  /** Records roles made for links that had none, ready; only for links that still exist and still have none. */
  async adopt(serviceId: string, roles: (LinkRole & { environmentId: string })[]): Promise<number> {
    let adopted = 0;
    for (const role of roles) {
      const sealed = this.box.seal(role.password, linkRoleContext(role.id));
      const inserted = await this.db.execute(sql`
        insert into service_link_roles (id, service_id, environment_id, name, password_ciphertext, key_id, ready_at)
        select ${role.id}, ${serviceId}, ${role.environmentId}, ${role.name}, ${sealed.ciphertext}, ${sealed.keyId}, now()
        where exists (select 1 from service_links l where l.service_id = ${serviceId}
          and l.environment_id = ${role.environmentId} and ${withoutRole(sql.raw('l'))})
        on conflict do nothing
        returning id`);
      adopted += inserted.length;
    }
    return adopted;
  }

  async markReady(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .update(serviceLinkRoles)
      .set({ readyAt: new Date() })
      .where(and(inArray(serviceLinkRoles.id, ids), isNull(serviceLinkRoles.readyAt)));
  }

  /** Drops the records of roles the worker has dropped. */
  async forget(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.delete(serviceLinkRoles).where(inArray(serviceLinkRoles.id, ids));
  }

  /** The role of one link, if it has one (tests and the worker's checks). */
  async activeRole(serviceId: string, environmentId: string): Promise<LinkRoleRow | null> {
    const [row] = await this.db
      .select()
      .from(serviceLinkRoles)
      .where(
        and(
          eq(serviceLinkRoles.serviceId, serviceId),
          eq(serviceLinkRoles.environmentId, environmentId),
          isNull(serviceLinkRoles.unlinkedAt),
        ),
      );
    return row ?? null;
  }
}

/** In the transaction that links an environment to a service with link roles (Postgres): its role, to be created by the worker. */
export async function addLinkRole(tx: Tx, box: SecretBox, serviceId: string, environmentId: string): Promise<LinkRoleRow> {
  const id = crypto.randomUUID();
  const sealed = box.seal(generatePassword(), linkRoleContext(id));
  const [row] = await tx
    .insert(serviceLinkRoles)
    .values({
      id,
      serviceId,
      environmentId,
      name: linkRoleName(id),
      passwordCiphertext: sealed.ciphertext,
      keyId: sealed.keyId,
    })
    .returning();
  return row as LinkRoleRow;
}

/** In the transaction that unlinks: the link's role is kept until the replicas started before now are gone. */
export async function retireLinkRoles(tx: Tx, serviceId: string, environmentId: string): Promise<void> {
  await tx
    .update(serviceLinkRoles)
    .set({ unlinkedAt: new Date() })
    .where(
      and(
        eq(serviceLinkRoles.serviceId, serviceId),
        eq(serviceLinkRoles.environmentId, environmentId),
        isNull(serviceLinkRoles.unlinkedAt),
      ),
    );
}

/** The role's password. Never logged, never put in a job payload. */
export function linkRolePassword(box: SecretBox, row: Pick<LinkRoleRow, 'id' | 'keyId' | 'passwordCiphertext'>): string {
  return box.open({ keyId: row.keyId, ciphertext: row.passwordCiphertext }, linkRoleContext(row.id));
}

export function linkRoleContext(roleId: string): string {
  return `service-link-role:${roleId}`;
}

/**
 * An unlinked role (or one whose environment was deleted) that no replica
 * started before the unlink still holds: the redeploy that dropped the link
 * is live and the old replicas are drained. A failed redeploy keeps the old
 * replicas serving, with their role.
 */
function droppable(role: SQL) {
  return sql`((${role}.unlinked_at is not null or ${role}.environment_id is null) and not exists (
    select 1 from replicas p where p.environment_id = ${role}.environment_id
      and p.created_at < coalesce(${role}.unlinked_at, now())))`;
}

/** A service (alias `service`) of an engine whose links get login roles of their own (`ServiceEngine.linkRoles`). */
function hasLinkRoles(service: SQL) {
  const types = SERVICE_TYPES.filter((type) => serviceEngine(type).linkRoles);
  if (types.length === 0) return sql`false`;
  return sql`${service}.type in (${sql.join(
    types.map((type) => sql`${type}`),
    sql`, `,
  )})`;
}

/** A link (alias `link`) of a service with no role of its own: made before link roles. */
function withoutRole(link: SQL) {
  return sql`not exists (select 1 from service_link_roles r2 where r2.service_id = ${link}.service_id
    and r2.environment_id = ${link}.environment_id and r2.unlinked_at is null)`;
}
