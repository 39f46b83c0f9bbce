import { environmentSlug, generatedLabel, PRODUCTION_ENV } from '@pier/core';
import { and, eq, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, environments } from '../schema.ts';
import { violatedConstraint } from './pg-errors.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The columns that keep two apps' environments apart: network (`slug`) and hostname label. */
export function environmentNames(app: string, env: string): { slug: string; hostnameLabel: string } {
  return { slug: environmentSlug(app, env), hostnameLabel: generatedLabel(app, env) };
}

/** Whether `err` is a clash with another app's environment (not a same-named one of the same app). */
export function isEnvironmentNameClash(err: unknown): boolean {
  const constraint = violatedConstraint(err);
  return constraint === 'environments_slug' || constraint === 'environments_hostname_label';
}

/**
 * Why `env` of `app` cannot exist: another app's environment already has its
 * hostname label or network name. Undefined when none does. Environments that
 * clashed before the names were kept (their columns null) are matched by the
 * names they use, so that their clash is never made again.
 */
export async function environmentNameClash(db: Db | Tx, app: string, env: string): Promise<string | undefined> {
  const { slug, hostnameLabel } = environmentNames(app, env);
  const usedSlug = sql<string>`coalesce(${environments.slug}, ${apps.name} || '-' || ${environments.name})`;
  const usedLabel = sql<string>`coalesce(${environments.hostnameLabel},
    case when ${environments.name} = ${PRODUCTION_ENV} then ${apps.name} else ${apps.name} || '-' || ${environments.name} end)`;
  const [other] = await db
    .select({ app: apps.name, env: environments.name, slug: usedSlug })
    .from(environments)
    .innerJoin(apps, eq(apps.id, environments.appId))
    .where(and(ne(apps.name, app), or(eq(usedSlug, slug), eq(usedLabel, hostnameLabel))))
    .limit(1);
  if (!other) return undefined;
  const what = other.slug === slug ? `the network pier-${slug}` : `the hostname ${hostnameLabel}.<base domain>`;
  const mine = env === PRODUCTION_ENV ? `app ${app}` : `${app}/${env}`;
  return `${mine} would use ${what}, which ${other.app}/${other.env} already has; choose another name`;
}
