import { randomBytes } from 'node:crypto';
import { connectDatabase, type Database } from '@pier/db';
import postgres from 'postgres';
import { databaseUrl, TEMPLATE_DATABASE, TEST_ADMIN_DATABASE_URL } from './env.ts';

export interface TestDatabase extends Database {
  name: string;
  url: string;
  /** Closes the pool and drops the database. */
  destroy(): Promise<void>;
}

async function withAdmin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Drops a test database, ending its leftover connections. FORCE refuses to end
 * an autovacuum worker (it has no role the test role is a member of: error
 * 42501), while a plain DROP DATABASE ends autovacuum itself; so on 42501 the
 * test role's own client sessions are ended by hand and the plain form is
 * tried, a few times (about 30 s at most) while the worker lets go.
 */
export async function dropDatabase(sql: postgres.Sql, name: string): Promise<void> {
  const quoted = `"${name.replaceAll('"', '""')}"`;
  try {
    await sql.unsafe(`drop database if exists ${quoted} with (force)`);
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
  }
  for (let attempt = 1; ; attempt++) {
    await sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = ${name} and backend_type = 'client backend' and pid <> pg_backend_pid()
        and usename = current_user`;
    try {
      await sql.unsafe(`drop database if exists ${quoted}`);
      return;
    } catch (error) {
      // 55006: still in use (PostgreSQL itself waits up to 5 s per attempt for autovacuum to end).
      if ((error as { code?: string }).code !== '55006' || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** A private database for one test file: migrated (from the template) unless `empty`. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  // The creation time in the name lets a later run drop what an interrupted one left.
  const name = `pier_test_f_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  await withAdmin((sql) =>
    sql.unsafe(options.empty ? `create database ${name}` : `create database ${name} template ${TEMPLATE_DATABASE}`),
  );
  const url = databaseUrl(name);
  const database = connectDatabase(url, { max: 5 });
  return {
    ...database,
    name,
    url,
    destroy: async () => {
      await database.close();
      await withAdmin((sql) => dropDatabase(sql, name));
    },
  };
}
