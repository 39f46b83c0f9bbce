import type { ContainerSpec, ServiceCredentials } from '@pier/core';
import type { ServerTls } from '../engine.ts';

/**
 * Where the server's certificate and key are written before it starts:
 * outside the data volume (a new volume must be empty for initdb; each start
 * writes a fresh certificate anyway). The key belongs to user postgres, 0600,
 * as Postgres requires of a key it reads as that user.
 */
export const POSTGRES_TLS_CERT = '/etc/pier/tls/server.crt';
export const POSTGRES_TLS_KEY = '/etc/pier/tls/server.key';

/**
 * The image's entrypoint initialises an empty data directory with the
 * credentials from its environment (not in `ps`). With `tls`, the server
 * speaks TLS with that certificate and still accepts plain connections
 * (`pg_hba.conf` has `host`, not `hostssl`, lines).
 */
export function postgresStartup(
  credentials: ServiceCredentials,
  tls?: ServerTls,
): Pick<ContainerSpec, 'env' | 'command' | 'files'> {
  const env = { POSTGRES_USER: credentials.user, POSTGRES_PASSWORD: credentials.password, POSTGRES_DB: credentials.database };
  if (!tls) return { env };
  return {
    env,
    command: [
      'postgres',
      ...['-c', 'ssl=on'],
      ...['-c', `ssl_cert_file=${POSTGRES_TLS_CERT}`],
      ...['-c', `ssl_key_file=${POSTGRES_TLS_KEY}`],
    ],
    files: [
      { path: POSTGRES_TLS_CERT, content: tls.certificatePem, mode: 0o644 },
      { path: POSTGRES_TLS_KEY, content: tls.keyPem, mode: 0o600, owner: 'postgres' },
    ],
  };
}
