import { connectDatabase, runMigrations } from '@pier/db';
import postgres from 'postgres';
import { dropDatabase } from './database.ts';
import { databaseUrl, TEMPLATE_DATABASE, TEST_ADMIN_DATABASE_URL } from './env.ts';

const TEMPLATE_LOCK = 7_250_411;

/**
 * Once per run: a migrated template database (reused while the migrations are unchanged). Each test file clones it
 * (CREATE DATABASE … TEMPLATE), which takes milliseconds and isolates files.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const admin = postgres(TEST_ADMIN_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    // Concurrent runs wait here for one another instead of racing on the template.
    await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
    await dropLeftovers(admin);
    const [exists] = await admin`select 1 from pg_database where datname = ${TEMPLATE_DATABASE}`;
    if (!exists) {
      await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
      const template = connectDatabase(databaseUrl(TEMPLATE_DATABASE), { max: 1 });
      await runMigrations(template.db);
      await template.close();
    }
    await admin`select pg_advisory_unlock(${TEMPLATE_LOCK})`;
  } finally {
    await admin.end();
  }
  return async () => {};
}

/** Databases of test files from interrupted runs more than an hour ago (not those of a run going on now). */
async function dropLeftovers(sql: postgres.Sql): Promise<void> {
  const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'pier_test_f_%'`;
  const cutoff = Date.now() / 1000 - 3600;
  const templates = await sql<{ datname: string }[]>`
    select datname from pg_database where datname like 'pier_test_template%' and datname <> ${TEMPLATE_DATABASE}`;
  for (const { datname } of templates) await dropDatabase(sql, datname);
  for (const { datname } of rows) {
    const created = Number(datname.split('_')[3]);
    if (Number.isFinite(created) && created < cutoff) await dropDatabase(sql, datname);
  }
}
