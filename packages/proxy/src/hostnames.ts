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

/**
 * The hostname a `Host` header names: lower-case, port and trailing dot
 * stripped; an IPv6 literal keeps its brackets. Empty when there is none.
 */
export function hostFromHeader(header: string | undefined): string {
  if (!header) return '';
  let host = header.trim();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  return canonicalHostname(host);
}
