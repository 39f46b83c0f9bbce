/**
 * Where the tests find the services `scripts/services.sh` starts. Overridable
 * for a machine whose services live elsewhere (still loopback only).
 */
export const TEST_ADMIN_DATABASE_URL = process.env.PIER_TEST_DATABASE_URL ?? 'postgres://pier:pier@127.0.0.1:5432/pier';
export const TEST_REDIS_URL = process.env.PIER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const TEMPLATE_DATABASE = 'pier_test_template';

/** The same database server, another database. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
