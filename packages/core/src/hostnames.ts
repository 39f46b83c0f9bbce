/** The environment served at the bare `<app>.<base>` name. */
export const PRODUCTION_ENV = 'production';

/** Lower-case, without a trailing dot: the form the route table stores and compares. */
export function canonicalHostname(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Longest app name: `<app>-pr-2147483647` (the longest preview) and
 * `<app>-staging` still fit one DNS label of 63 characters.
 */
export const APP_NAME_MAX = 48;

/**
 * First words of app names Pier keeps for its own containers, networks and
 * volumes (`pier-svc-<service>`, `pier-verify-…`, `pier-restore-…`): an app
 * `svc` would otherwise get the network of a managed service named like one of
 * its environments.
 */
export const RESERVED_APP_PREFIXES = ['svc', 'verify', 'restore'] as const;

/** Why `name` cannot be an app's name because Pier keeps it; undefined when it can. */
export function reservedAppNameProblem(name: string): string | undefined {
  const first = name.split('-')[0] ?? '';
  if (!(RESERVED_APP_PREFIXES as readonly string[]).includes(first)) return undefined;
  return `must not be ${RESERVED_APP_PREFIXES.join(', ')} nor start with ${RESERVED_APP_PREFIXES.map((p) => `${p}-`).join(', ')} (Pier names its own containers and networks so)`;
}

/** A DNS label is at most 63 characters (RFC 1035). */
const LABEL_MAX = 63;

/** Why `env` cannot be an environment of `app` because its generated hostname label would be too long; undefined when it fits. */
export function generatedLabelProblem(app: string, env: string): string | undefined {
  if (env === PRODUCTION_ENV) return undefined;
  const label = `${app}-${env}`;
  if (label.length <= LABEL_MAX) return undefined;
  return `${label} (its hostname label) is ${label.length} characters; a DNS label has at most ${LABEL_MAX}, so this name can have at most ${LABEL_MAX - app.length - 1}`;
}

/** `<app>` for production, else `<app>-<env>`: the first label of the environment's generated hostname. */
export function generatedLabel(app: string, env: string): string {
  return env === PRODUCTION_ENV ? app : `${app}-${env}`;
}

/**
 * `<app>-<env>`, for every environment: its Docker network is `pier-<slug>`. Two
 * apps could otherwise share one (app `a-b`'s `c` and app `a`'s `b-c`).
 */
export function environmentSlug(app: string, env: string): string {
  return `${app}-${env}`;
}

/**
 * Every hostname that serves one environment: `<app>.<base>` for production,
 * `<app>-<env>.<base>` for any other environment, then the custom domains,
 * canonical and without duplicates.
 */
export function hostnamesFor(app: string, env: string, baseDomain: string, customDomains: readonly string[] = []): string[] {
  const base = canonicalHostname(baseDomain);
  const generated = `${generatedLabel(app, env)}.${base}`;
  const names = [canonicalHostname(generated), ...customDomains.map(canonicalHostname)];
  return [...new Set(names)].filter((name) => name.length > 0);
}
