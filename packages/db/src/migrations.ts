import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type postgres from 'postgres';
import journalFile from '../../../migrations/meta/_journal.json' with { type: 'json' };
import type { Db } from './client.ts';

/** The SQL drizzle-kit generated from schema.ts, at the top of the repository. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations', import.meta.url));

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

/**
 * The migrations this code was written for: imported, so a compiled process
 * keeps the list it was built with and can tell a database migrated by
 * newer code (a `git pull` and `npm run migrate` without a new build).
 */
const journal: Journal = journalFile;

export async function runMigrations(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
}

export interface MigrationStatus {
  total: number;
  pending: string[];
  /** The database has migrations newer than every one this code knows: it runs an older build. */
  ahead: boolean;
}

/** Which of the repository's migrations the database has not applied (drizzle's own bookkeeping). */
export async function migrationStatus(sql: postgres.Sql): Promise<MigrationStatus> {
  const [table] = await sql<{ exists: boolean }[]>`
    select to_regclass('drizzle.__drizzle_migrations') is not null as exists`;
  let lastApplied = -1;
  if (table?.exists) {
    const [row] = await sql<{ last: string | null }[]>`
      select max(created_at)::text as last from drizzle.__drizzle_migrations`;
    lastApplied = row?.last ? Number(row.last) : -1;
  }
  const pending = journal.entries.filter((e) => e.when > lastApplied).map((e) => e.tag);
  const newest = Math.max(-1, ...journal.entries.map((e) => e.when));
  return { total: journal.entries.length, pending, ahead: lastApplied > newest };
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

/** Thrown at start when the database was migrated by newer code than this build. */
export class OutdatedBuildError extends Error {
  constructor() {
    super(
      'the database has migrations newer than this code knows: this is an older build than the repository ' +
        '(`npm run build`, or `sudo npm run install-service` under systemd, then start again).',
    );
    this.name = 'OutdatedBuildError';
  }
}

export async function assertMigrated(sql: postgres.Sql): Promise<void> {
  const status = await migrationStatus(sql);
  if (status.pending.length > 0) throw new UnmigratedDatabaseError(status);
  if (status.ahead) throw new OutdatedBuildError();
}
