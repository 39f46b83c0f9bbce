import type { Writable } from 'node:stream';
import type { ContainerOperations, ServiceCredentials } from '@pier/core';
import { fileChunks } from '../../backup-files.ts';
import { lastLine } from '../../service-commands.ts';
import { parseTableCounts, psqlCommand, TABLE_COUNTS_SQL, tableCounts } from './postgres-commands.ts';

const DUMP_TIMEOUT_MS = 60 * 60_000;

/**
 * `pg_dump --format=custom` of the service's database into `out`, and the row
 * count of every table *in the same snapshot*: a psql session exports its
 * snapshot, pg_dump dumps that snapshot, and the session counts rows in it.
 * The counts are what verification expects to find after a restore.
 */
export async function dumpPostgres(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
  out: Writable,
): Promise<Record<string, number>> {
  let announce: (snapshot: string) => void = () => {};
  const snapshot = new Promise<string>((resolve) => {
    announce = resolve;
  });
  let dumped: () => void = () => {};
  const dumpFinished = new Promise<void>((resolve) => {
    dumped = resolve;
  });
  let seen = '';
  const { PassThrough } = await import('node:stream');
  const sessionOut = new PassThrough();
  const sessionText: string[] = [];
  sessionOut.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    sessionText.push(text);
    seen += text;
    const match = /snapshot:(\S+)\n/.exec(seen);
    if (match) announce(match[1] as string);
  });
  async function* script(): AsyncIterable<string> {
    yield 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n';
    yield "SELECT 'snapshot:' || pg_export_snapshot();\n";
    await dumpFinished;
    yield TABLE_COUNTS_SQL;
    yield 'COMMIT;\n';
  }
  const session = ops.exec(containerId, psqlCommand(credentials), {
    user: 'postgres',
    stdin: script(),
    stdout: sessionOut,
    timeoutMs: DUMP_TIMEOUT_MS,
  });
  const sessionFailed = session.then((result) => {
    throw new Error(`the snapshot session ended early: ${lastLine(result.stderr)}`);
  });
  try {
    const id = await Promise.race([snapshot, sessionFailed]);
    const dump = await ops.exec(
      containerId,
      ['pg_dump', '--format=custom', `--snapshot=${id}`, '-U', credentials.user, '-d', credentials.database],
      { user: 'postgres', stdout: out, timeoutMs: DUMP_TIMEOUT_MS },
    );
    if (dump.exitCode !== 0) throw new Error(`pg_dump failed (exit ${dump.exitCode}): ${lastLine(dump.stderr)}`);
  } finally {
    dumped();
  }
  sessionFailed.catch(() => {});
  const result = await session;
  if (result.exitCode !== 0) throw new Error(`counting rows failed: ${lastLine(result.stderr)}`);
  return parseTableCounts(sessionText.join(''));
}

/** pg_restore of a custom-format file into a database; `clean` drops what the dump contains first (a restore over live data). */
export async function restorePostgres(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
  file: string,
  clean: boolean,
): Promise<void> {
  const result = await ops.exec(
    containerId,
    [
      'pg_restore',
      '--exit-on-error',
      '--no-owner',
      '--no-privileges',
      '--single-transaction',
      ...(clean ? ['--clean', '--if-exists'] : []),
      '-U',
      credentials.user,
      '-d',
      credentials.database,
    ],
    { user: 'postgres', stdin: fileChunks(file), timeoutMs: DUMP_TIMEOUT_MS },
  );
  if (result.exitCode !== 0) throw new Error(`pg_restore failed (exit ${result.exitCode}): ${lastLine(result.stderr)}`);
}

/** Restores `file` into a fresh database (in `containerId`) and compares its tables and row counts with `expected`. */
export async function checkPostgresRestore(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
  file: string,
  expected: Record<string, number>,
): Promise<{ found: Record<string, number>; problems: string[] }> {
  await restorePostgres(ops, containerId, credentials, file, false);
  const found = await tableCounts(ops, containerId, credentials);
  return { found, problems: compareCounts(expected, found) };
}

export function compareCounts(expected: Record<string, number>, found: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [table, rows] of Object.entries(expected)) {
    if (!(table in found)) problems.push(`table ${table} is missing after the restore`);
    else if (found[table] !== rows)
      problems.push(`table ${table} has ${found[table]} rows after the restore, ${rows} when dumped`);
  }
  for (const table of Object.keys(found)) if (!(table in expected)) problems.push(`table ${table} appeared after the restore`);
  return problems;
}
