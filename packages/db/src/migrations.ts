import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type postgres from 'postgres';
import type { Db } from './client.ts';

/** The SQL drizzle-kit generated from schema.ts, at the top of the repository. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations', import.meta.url));

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

export async function runMigrations(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
}

export interface MigrationStatus {
  total: number;
  pending: string[];
}

/** Which of the repository's migrations the database has not applied (drizzle's own bookkeeping). */
export async function migrationStatus(sql: postgres.Sql): Promise<MigrationStatus> {
  const journal = JSON.parse(await readFile(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as Journal;
  const [table] = await sql<{ exists: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  let lastApplied = -1;
  if (table?.exists) {
    const [row] = await sql<{ last: string | null }[]>`
      select max(created_at)::text as last from drizzle.__drizzle_migrations`;
    lastApplied = row?.last ? Number(row.last) : -1;
  }
  const pending = journal.entries.filter((e) => e.when > lastApplied).map((e) => e.tag);
  return { total: journal.entries.length, pending };
}

/** Thrown at start when the database is behind the code. */
export class UnmigratedDatabaseError extends Error {
  constructor(readonly status: MigrationStatus) {
    super(
      `the database is not migrated: ${status.pending.length} of ${status.total} migrations are pending ` +
        `(${status.pending.join(', ')}). Run \`npm run migrate\` and start again.`,
    );
    this.name = 'UnmigratedDatabaseError';
  }
}

export async function assertMigrated(sql: postgres.Sql): Promise<void> {
  const status = await migrationStatus(sql);
  if (status.pending.length > 0) throw new UnmigratedDatabaseError(status);
}
