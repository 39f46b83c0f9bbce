import { createHash, createHmac, pbkdf2Sync, randomBytes, randomInt } from 'node:crypto';
import { SERVICE_TYPES, type ServiceCredentials, type ServiceType, serviceEngine } from './service-engines.ts';

/** Labels of managed-service containers, networks and volumes (besides `pier.app` and `pier.role`). */
export const LABEL_SERVICE = 'pier.service';
export const LABEL_SERVICE_ID = 'pier.service-id';
/**
 * The `pier.app` value of managed-service objects: Docker objects Pier owns
 * carry `pier.app`; this value is not a valid app name, so no app's listing includes them.
 */
export const SERVICES_APP_LABEL = '@services';

/** Container and network of a service: `pier-svc-<name>`; apps reach it by that name on the network. */
export function serviceContainerName(name: string): string {
  return `pier-svc-${name}`;
}
export function serviceNetwork(name: string): string {
  return `pier-svc-${name}`;
}
/**
 * The data volume of one service, named after its id too: a service deleted
 * with its data kept leaves its volume behind, and a new service of the same
 * name must not adopt it.
 */
export function serviceVolume(name: string, serviceId: string): string {
  return `pier-svc-${name}-${serviceId.slice(0, 8)}-data`;
}

const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** Characters a URL must percent-encode in its userinfo: every password has some, so every client is proven to encode. */
const URL_SPECIAL = '@:/?#%+&=';
const PASSWORD_LENGTH = 32;

/** 32 random characters (about 180 bits) including at least three URL-special ones, at random places. */
export function generatePassword(): string {
  const chars = Array.from({ length: PASSWORD_LENGTH }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)] as string);
  const positions = new Set<number>();
  while (positions.size < 3) positions.add(randomInt(1, PASSWORD_LENGTH));
  for (const position of positions) chars[position] = URL_SPECIAL[randomInt(URL_SPECIAL.length)] as string;
  return chars.join('');
}

/** Fresh credentials for a new service named `name`. */
export function generateCredentials(type: ServiceType, name: string): ServiceCredentials {
  const engine = serviceEngine(type);
  return { user: engine.superuser, password: generatePassword(), database: engine.database(name) };
}

/** The URL an app gets: `postgres://user:pass@host:5432/db` or `redis://default:pass@host:6379/0`, userinfo percent-encoded. */
export function connectionUrl(type: ServiceType, host: string, credentials: ServiceCredentials): string {
  const { urlScheme, port } = serviceEngine(type);
  const userinfo = `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}`;
  return `${urlScheme}://${userinfo}@${host}:${port}/${encodeURIComponent(credentials.database)}`;
}

// ---- link roles (Postgres) ---------------------------------------------------------------------

/**
 * Each environment linked to a managed Postgres connects as a login role of
 * its own, never as the superuser: `app_<12 hex>`, named after its record.
 * Every link role of a service is a member of one NOLOGIN owner role and
 * starts its sessions as it (`SET ROLE`), so what one environment's
 * migrations create, another environment linked to the same database uses.
 */
export const LINK_ROLE_PATTERN = /^app_[0-9a-f]{12}$/;
/** The NOLOGIN role that owns the schema and every object of a service's database. */
export const LINK_OWNER_ROLE = 'app_owner';

/** The role name of the link role recorded under `id` (a UUID). */
export function linkRoleName(id: string): string {
  const name = `app_${id.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
  if (!LINK_ROLE_PATTERN.test(name)) throw new RangeError('a link role is named after a UUID');
  return name;
}

/**
 * The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5803 form,
 * as `pg_authid.rolpassword` holds it). Setting a role's password to it means
 * the password itself never reaches the server, its logs or its errors.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  // SASLprep leaves printable ASCII as it is; generated passwords are nothing else.
  if (!/^[\x21-\x7e]+$/.test(password)) throw new RangeError('only printable ASCII passwords are hashed here');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Versions as `POST /services` accepts them for `type`: `15`, `7.2`, `15.4.1`. */
export function serviceVersionProblem(type: ServiceType, version: string): string | undefined {
  return serviceEngine(type).versions.test(version) ? undefined : 'must be a version number such as 15 or 7.2';
}

/**
 * The image and version of a new service: the configured image as is when no
 * version is asked for (its version read from its tag, e.g. `15-bookworm` → 15),
 * otherwise the configured image's repository at that tag (`postgres:16`).
 */
export function serviceImage(type: ServiceType, configured: string, version?: string): { image: string; version: string } {
  const slash = configured.lastIndexOf('/');
  const colon = configured.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? configured.slice(0, colon) : configured;
  const tag = hasTag ? configured.slice(colon + 1) : 'latest';
  if (version) return { image: `${repository}:${version}`, version };
  const fromTag = /^(\d+(?:\.\d+){0,2})/.exec(tag)?.[1];
  return { image: configured, version: fromTag ?? serviceEngine(type).defaultVersion };
}

/**
 * Where two environments' linked services differ in type or version, in
 * words ("staging should mirror production"). Each list is `type version` per linked service.
 */
export function mirrorDifferences(
  self: { name: string; services: { type: ServiceType; version: string }[] },
  other: { name: string; services: { type: ServiceType; version: string }[] },
): string[] {
  const describe = (services: { type: ServiceType; version: string }[]) => services.map((s) => `${s.type} ${s.version}`).sort();
  const mine = describe(self.services);
  const theirs = describe(other.services);
  const differences: string[] = [];
  for (const type of SERVICE_TYPES) {
    const a = mine.filter((s) => s.startsWith(`${type} `));
    const b = theirs.filter((s) => s.startsWith(`${type} `));
    if (a.join(',') === b.join(',')) continue;
    const show = (list: string[]) => (list.length === 0 ? `no ${type}` : list.join(' + '));
    differences.push(`${self.name} has ${show(a)}, ${other.name} has ${show(b)}`);
  }
  return differences;
}
