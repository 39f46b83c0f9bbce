/** The environment served at the bare `<app>.<base>` name. */
export const PRODUCTION_ENV = 'production';

/** Lower-case, without a trailing dot: the form the route table stores and compares. */
export function canonicalHostname(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Every hostname that serves one environment: `<app>.<base>` for production,
 * `<app>-<env>.<base>` for any other environment, then the custom domains,
 * canonical and without duplicates.
 */
export function hostnamesFor(app: string, env: string, baseDomain: string, customDomains: readonly string[] = []): string[] {
  const base = canonicalHostname(baseDomain);
  const generated = env === PRODUCTION_ENV ? `${app}.${base}` : `${app}-${env}.${base}`;
  const names = [canonicalHostname(generated), ...customDomains.map(canonicalHostname)];
  return [...new Set(names)].filter((name) => name.length > 0);
}
