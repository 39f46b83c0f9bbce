import { injectedVariableKey, type UrlParams } from '@pier/core';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { managedServices, serviceLinkRoles, serviceLinks } from '../schema.ts';
import type { LinkRoleRow } from './service-role-store.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
type ServiceRow = typeof managedServices.$inferSelect;

export interface ServiceLink {
  service: ServiceRow;
  /** The URL variable it injects into the environment; its other variables are prefixed like it (`SHOP_PGHOST`). */
  variable: string;
  /** Query parameters added to its URL, e.g. `{ sslmode: 'require' }`. */
  urlParams: UrlParams;
  /**
   * The link's own Postgres role, which its URL names: `readyAt` null until
   * the worker has created it (deployments wait for that). Null for Redis, and
   * for a link made before link roles, which uses the superuser until the worker gives it one.
   */
  role: LinkRoleRow | null;
  createdAt: Date;
}

/** What linked services add to a release: variables, the networks its replicas join, and files written into them. */
/** An environment's links, oldest first, each with its service, URL variable, URL parameters and role. */
export async function linksOf(db: Db | Tx, environmentId: string): Promise<ServiceLink[]> {
  const rows = await db
    .select({
      service: managedServices,
      role: serviceLinkRoles,
      createdAt: serviceLinks.createdAt,
      variable: serviceLinks.variable,
      urlParams: serviceLinks.urlParams,
    })
    .from(serviceLinks)
    .innerJoin(managedServices, eq(serviceLinks.serviceId, managedServices.id))
    .leftJoin(
      serviceLinkRoles,
      and(
        eq(serviceLinkRoles.serviceId, serviceLinks.serviceId),
        eq(serviceLinkRoles.environmentId, serviceLinks.environmentId),
        isNull(serviceLinkRoles.unlinkedAt),
      ),
    )
    .where(eq(serviceLinks.environmentId, environmentId))
    .orderBy(asc(serviceLinks.createdAt), asc(managedServices.name));
  const seen = new Set<string>();
  return rows.map((row) => {
    // Links made before the name was stored get it by link order, as then.
    const variable = row.variable ?? injectedVariableKey(row.service.type, row.service.name, !seen.has(row.service.type));
    seen.add(row.service.type);
    return { service: row.service, variable, urlParams: row.urlParams as UrlParams, role: row.role, createdAt: row.createdAt };
  });
}

/** `app/env` of every environment linked to the service. */
export async function linkedEnvironmentNames(db: Db | Tx, serviceId: string): Promise<string[]> {
  const rows = await db.execute<{ name: string }>(sql`
    select a.name || '/' || e.name as name from service_links l
    join environments e on e.id = l.environment_id join apps a on a.id = e.app_id
    where l.service_id = ${serviceId} order by 1`);
  return rows.map((r) => r.name);
}
