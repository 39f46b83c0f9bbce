import { type ContainerSpec, SERVICE_ENGINES, type ServiceCredentials } from '@pier/core';

const DATA_DIRECTORY = SERVICE_ENGINES.redis.dataDirectory;

/**
 * Redis's password file, written into the container before it starts: a
 * password on the command line is in `docker inspect` and, world-readable, in
 * the host's `ps`. In the data volume, whose files the image's entrypoint (the
 * official one as Pier's) gives to user redis before starting the server, so
 * it stays 0600; backups copy only the RDB file, and each start writes it anew.
 */
export const REDIS_AUTH_FILE = `${DATA_DIRECTORY}/pier-auth.conf`;

/** The server reads its password from `REDIS_AUTH_FILE`, listens on its network, and appends every write to its AOF. */
export function redisStartup(credentials: ServiceCredentials): Pick<ContainerSpec, 'env' | 'command' | 'files'> {
  return {
    env: {},
    command: [
      'redis-server',
      REDIS_AUTH_FILE,
      ...['--bind', '0.0.0.0', '--protected-mode', 'no', '--dir', DATA_DIRECTORY, '--appendonly', 'yes'],
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
