import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the tests find the services `scripts/services.sh` starts. Overridable
 * for a machine whose services live elsewhere (still loopback only).
 */
export const TEST_ADMIN_DATABASE_URL =
  process.env.PIER_TEST_DATABASE_URL ?? 'postgres://pier_test:pier_test@127.0.0.1:5432/pier_test';
export const TEST_REDIS_URL = process.env.PIER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/1';
/** Named after the migrations it holds, so runs on different schemas never share one. */
export const TEMPLATE_DATABASE = `pier_test_template_${migrationsHash()}`;

function migrationsHash(): string {
  const folder = fileURLToPath(new URL('../../migrations/', import.meta.url));
  const hash = createHash('sha256');
  for (const file of readdirSync(folder, { recursive: true }).map(String).sort()) {
    if (file.endsWith('.sql') || file.endsWith('.json')) hash.update(file).update(readFileSync(join(folder, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

/** The same database server, another database. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
