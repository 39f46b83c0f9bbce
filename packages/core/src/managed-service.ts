import { randomInt } from 'node:crypto';

export const SERVICE_TYPES = ['postgres', 'redis'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Labels of managed-service containers, networks and volumes (besides `pier.app` and `pier.role`). */
export const LABEL_SERVICE = 'pier.service';
export const LABEL_SERVICE_ID = 'pier.service-id';
/**
 * The `pier.app` value of managed-service objects: Docker objects Pier owns
 * carry `pier.app`; this value is not a valid app name, so no app's listing includes them.
 */
export const SERVICES_APP_LABEL = '@services';

/** What a managed service's clients need; sealed at rest, shown only on request. */
export interface ServiceCredentials {
  user: string;
  password: string;
  /** Postgres database name; Redis uses database 0. */
  database: string;
}

export const SERVICE_PORTS: Record<ServiceType, number> = { postgres: 5432, redis: 6379 };

/** Container, network and volume of a service: `pier-svc-<name>`; apps reach it by that name on the network. */
export function serviceContainerName(name: string): string {
  return `pier-svc-${name}`;
}
export function serviceNetwork(name: string): string {
  return `pier-svc-${name}`;
}
export function serviceVolume(name: string): string {
  return `pier-svc-${name}-data`;
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
  return {
    user: type === 'postgres' ? 'pier' : 'default',
    password: generatePassword(),
    database: type === 'postgres' ? name.replace(/-/g, '_') : '0',
  };
}

/** The URL an app gets: `postgres://user:pass@host:5432/db` or `redis://default:pass@host:6379/0`, userinfo percent-encoded. */
export function connectionUrl(type: ServiceType, host: string, credentials: ServiceCredentials): string {
  const userinfo = `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}`;
  const port = SERVICE_PORTS[type];
  return type === 'postgres'
    ? `postgres://${userinfo}@${host}:${port}/${encodeURIComponent(credentials.database)}`
    : `redis://${userinfo}@${host}:${port}/${credentials.database}`;
}

/** Default versions, when POST /services does not name one. */
export const DEFAULT_SERVICE_VERSIONS: Record<ServiceType, string> = { postgres: '15', redis: '7' };
