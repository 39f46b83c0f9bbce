import {
  type ContainerSpec,
  LABEL_APP,
  LABEL_ROLE,
  LABEL_SERVICE,
  LABEL_SERVICE_ID,
  type ResourceLimits,
  SERVICES_APP_LABEL,
  type ServiceCredentials,
  type ServiceType,
  serviceContainerName,
  serviceNetwork,
} from '@pier/core';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';

const MiB = 1024 * 1024;
export const SERVICE_LIMITS: ResourceLimits = { memoryBytes: 1024 * MiB, nanoCpus: 1_000_000_000, pids: 1024 };
/** Throwaway containers that check a backup: smaller, and gone within minutes. */
export const VERIFY_LIMITS: ResourceLimits = { memoryBytes: 512 * MiB, nanoCpus: 1_000_000_000, pids: 512 };

/** Where each image keeps its data. */
export const DATA_DIRECTORY: Record<ServiceType, string> = { postgres: '/var/lib/postgresql/data', redis: '/data' };

export interface ServiceIdentity {
  id: string;
  name: string;
  type: ServiceType;
  image: string;
  /** Its data volume (named when the service was created). */
  volumeName: string;
}

export function serviceLabels(service: ServiceIdentity, instance: string, role = 'service'): Record<string, string> {
  return {
    [LABEL_APP]: SERVICES_APP_LABEL,
    [LABEL_ROLE]: role,
    [LABEL_SERVICE]: service.name,
    [LABEL_SERVICE_ID]: service.id,
    [LABEL_INSTANCE]: instance,
  };
}

/**
 * Redis's password file, written into the container before it starts: a
 * password on the command line is in `docker inspect` and, world-readable, in
 * the host's `ps`. In the data volume, whose files the image's entrypoint (the
 * official one as Pier's) gives to user redis before starting the server, so
 * it stays 0600; backups copy only the RDB file, and each start writes it anew.
 */
export const REDIS_AUTH_FILE = '/data/pier-auth.conf';

/**
 * Environment, command and files that make the image start with these
 * credentials (a fresh data directory is initialised with them). Postgres's
 * password is an environment variable its entrypoint reads when it
 * initialises an empty data directory (the official image's way; not in `ps`).
 */
function startup(type: ServiceType, credentials: ServiceCredentials): Pick<ContainerSpec, 'env' | 'command' | 'files'> {
  if (type === 'postgres') {
    return {
      env: { POSTGRES_USER: credentials.user, POSTGRES_PASSWORD: credentials.password, POSTGRES_DB: credentials.database },
    };
  }
  return {
    env: {},
    command: [
      'redis-server',
      REDIS_AUTH_FILE,
      ...['--bind', '0.0.0.0', '--protected-mode', 'no', '--dir', DATA_DIRECTORY.redis, '--appendonly', 'yes'],
    ],
    files: [{ path: REDIS_AUTH_FILE, content: redisAuthConfig(credentials.password), mode: 0o600 }],
  };
}

/** The password as a redis.conf line: double-quoted, `\` and `"` escaped; control characters are refused. */
export function redisAuthConfig(password: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(password)) throw new Error('a Redis password must not contain control characters');
  return `# Written by Pier before the container starts.\nrequirepass "${password.replace(/[\\"]/g, '\\$&')}"\n`;
}

/**
 * The service's container: its own network only (apps join that network when
 * linked), its named volume, nothing published on the host.
 */
export function serviceContainerSpec(service: ServiceIdentity, credentials: ServiceCredentials, instance: string): ContainerSpec {
  return {
    name: serviceContainerName(service.name),
    image: service.image,
    ...startup(service.type, credentials),
    labels: serviceLabels(service, instance),
    containerPort: null,
    networks: [serviceNetwork(service.name)],
    limits: SERVICE_LIMITS,
    volumes: { [service.volumeName]: DATA_DIRECTORY[service.type] },
  };
}

/** A container that restores a backup to check it: no network at all, its own volume, removed afterwards. */
export function verifyContainerSpec(
  service: ServiceIdentity,
  credentials: ServiceCredentials,
  instance: string,
  backupId: string,
): ContainerSpec {
  const name = `pier-verify-${backupId.slice(0, 8)}-${Date.now().toString(36)}`;
  return {
    name,
    image: service.image,
    ...startup(service.type, credentials),
    labels: serviceLabels(service, instance, 'backup-verify'),
    containerPort: null,
    networks: ['none'],
    limits: VERIFY_LIMITS,
    volumes: { [name]: DATA_DIRECTORY[service.type] },
  };
}

/** A container that holds a stopped Redis service's volume while a backup is put in place (no network, no server). */
export function restoreHelperSpec(service: ServiceIdentity, instance: string): ContainerSpec {
  return {
    name: `pier-restore-${service.name}-${Date.now().toString(36)}`.slice(0, 120),
    image: service.image,
    env: {},
    labels: serviceLabels(service, instance, 'restore'),
    containerPort: null,
    networks: ['none'],
    limits: VERIFY_LIMITS,
    volumes: { [service.volumeName]: DATA_DIRECTORY.redis },
    command: ['sleep', 'infinity'],
  };
}
