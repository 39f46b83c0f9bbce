import { isIP } from 'node:net';
import { canonicalHostname, PRODUCTION_ENV } from './hostnames.ts';

/** One DNS label (RFC 1123): letters, digits, inner dashes, 1-63 characters. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why `hostname` (already lower-cased, without a trailing dot) cannot be a
 * custom domain, or undefined when it can: an RFC 1123 name of at least two
 * labels, at most 253 characters, no IP literal, no wildcard, a top-level
 * label that is not all digits.
 */
export function customHostnameProblem(hostname: string): string | undefined {
  if (hostname.length === 0) return 'must not be empty';
  if (hostname.length > 253) return 'must be at most 253 characters';
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) !== 0) return 'must be a DNS name, not an IP address';
  if (hostname.includes('*')) return 'must not be a wildcard; add each name';
  const labels = hostname.split('.');
  if (labels.length < 2) return 'must have at least two labels, e.g. www.example.com';
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return bad === ''
      ? 'must not contain empty labels (two dots in a row, or a leading dot)'
      : `label "${bad.slice(0, 63)}" must be 1-63 of a-z, 0-9 and inner dashes (RFC 1123)`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) return 'must end in a top-level name, not digits';
  return undefined;
}

/** The canonical form of a hostname a user typed: trimmed, lower-case, no trailing dot. */
export function normalizeCustomHostname(input: string): string {
  return canonicalHostname(input);
}

/**
 * The generated hostnames live directly under the base domain, one label:
 * `<app>` (production) or `<app>-<env>`. Returns the apps among `appNames`
 * whose generated names could be `hostname` or a name it is under (for
 * `web-staging.<base>` and `www.web-staging.<base>`: the app `web` and an app
 * named `web-staging`), or null when `hostname` is not under the base domain.
 */
export function generatedHostnameClaimants(hostname: string, baseDomain: string, appNames: readonly string[]): string[] | null {
  const base = canonicalHostname(baseDomain);
  if (hostname === base) return [];
  if (!hostname.endsWith(`.${base}`)) return null;
  const label = hostname
    .slice(0, -(base.length + 1))
    .split('.')
    .at(-1) as string;
  return appNames.filter((app) => label === app || label.startsWith(`${app}-`));
}

/**
 * Why `app` cannot have `hostname` as a custom domain because of Pier's
 * generated hostnames, or undefined when that is no reason:
 * - `owned`: it is, or is under, a generated hostname other apps may have
 *   (`x.shop.<base>` for any app but `shop`): a page there could set cookies
 *   for the other app's names, or answer for them;
 * - `generated`: it is the base domain or a name directly under it, which Pier
 *   generates;
 * - `unclaimed`: it is under a name directly under the base domain that no app
 *   has yet, and the app of that name would get it later.
 * Names under the app's own generated hostnames (`www.web.<base>` for `web`) are fine.
 */
export type GeneratedNameClash =
  | { kind: 'owned'; owners: string[]; parent: string }
  | { kind: 'generated' }
  | { kind: 'unclaimed'; parent: string };

export function generatedNameClash(
  hostname: string,
  app: string,
  baseDomain: string,
  appNames: readonly string[],
): GeneratedNameClash | undefined {
  const claimants = generatedHostnameClaimants(hostname, baseDomain, appNames);
  if (claimants === null) return undefined;
  const base = canonicalHostname(baseDomain);
  const labels = hostname === base ? [] : hostname.slice(0, -(base.length + 1)).split('.');
  // The generated hostname `hostname` is or is under.
  const parent = `${labels.at(-1)}.${base}`;
  const owners = claimants.filter((claimant) => claimant !== app);
  if (owners.length > 0) return { kind: 'owned', owners, parent };
  if (labels.length <= 1) return { kind: 'generated' };
  if (claimants.includes(app)) return undefined;
  return { kind: 'unclaimed', parent };
}

/** The generated hostname of an environment, for messages. */
export function generatedHostname(app: string, env: string, baseDomain: string): string {
  const base = canonicalHostname(baseDomain);
  return env === PRODUCTION_ENV ? `${app}.${base}` : `${app}-${env}.${base}`;
}
