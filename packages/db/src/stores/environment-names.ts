import { environmentSlug, generatedLabel, PRODUCTION_ENV } from '@pier/core';
import { eq, or } from 'drizzle-orm';
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
 * hostname label or network name. Undefined when none does.
 */
export async function environmentNameClash(db: Db | Tx, app: string, env: string): Promise<string | undefined> {
  const { slug, hostnameLabel } = environmentNames(app, env);
  const [other] = await db
    .select({ app: apps.name, env: environments.name, slug: environments.slug })
    .from(environments)
    .innerJoin(apps, eq(apps.id, environments.appId))
    .where(or(eq(environments.slug, slug), eq(environments.hostnameLabel, hostnameLabel)))
    .limit(1);
  if (!other) return undefined;
  const what = other.slug === slug ? `the network pier-${slug}` : `the hostname ${hostnameLabel}.<base domain>`;
  const mine = env === PRODUCTION_ENV ? `app ${app}` : `${app}/${env}`;
  return `${mine} would use ${what}, which ${other.app}/${other.env} already has; choose another name`;
}
