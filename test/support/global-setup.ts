import { connectDatabase, runMigrations } from '@pier/db';
import postgres from 'postgres';
import { databaseUrl, TEMPLATE_DATABASE, TEST_ADMIN_DATABASE_URL } from './env.ts';

/**
 * Once per run: a freshly migrated template database. Each test file clones it
 * (CREATE DATABASE … TEMPLATE), which takes milliseconds and isolates files.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await dropLeftovers(admin);
    await admin.unsafe(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
    await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
    const template = connectDatabase(databaseUrl(TEMPLATE_DATABASE), { max: 1 });
    await runMigrations(template.db);
    await template.close();
  } finally {
    await admin.end();
  }
  return async () => {
    const cleanup = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
    await dropLeftovers(cleanup);
    await cleanup.end();
  };
}

/** Databases of test files from earlier, interrupted runs. */
async function dropLeftovers(sql: postgres.Sql): Promise<void> {
  const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'pier_test_f_%'`;
  for (const { datname } of rows) await sql.unsafe(`drop database if exists "${datname}" with (force)`);
}
