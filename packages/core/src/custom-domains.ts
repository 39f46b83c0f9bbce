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
 * whose generated names could be `hostname` (for `web-staging.<base>`: the app
 * `web` and an app named `web-staging`), or null when `hostname` is not one
 * label under the base domain.
 */
export function generatedHostnameClaimants(hostname: string, baseDomain: string, appNames: readonly string[]): string[] | null {
  const base = canonicalHostname(baseDomain);
  if (hostname === base) return [];
  if (!hostname.endsWith(`.${base}`)) return null;
  const label = hostname.slice(0, -(base.length + 1));
  if (label.includes('.')) return null;
  return appNames.filter((app) => label === app || label.startsWith(`${app}-`));
}

/** The generated hostname of an environment, for messages. */
export function generatedHostname(app: string, env: string, baseDomain: string): string {
  const base = canonicalHostname(baseDomain);
  return env === PRODUCTION_ENV ? `${app}.${base}` : `${app}-${env}.${base}`;
}
