import type { ContainerOperations, ServiceCredentials } from '@pier/core';
import { lastLine, lines } from '../../service-commands.ts';

/**
 * Postgres tools connect over the container's unix socket as the `postgres`
 * OS user (local connections are trusted by the image).
 */

/** One `schema.table|rows` line per table of the database, sorted: what a backup is checked against. */
export const TABLE_COUNTS_SQL = `SELECT format('SELECT %L || count(*) FROM %I.%I', 'count:' || n.nspname || '.' || c.relname || '|', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1 \\gexec
`;

/**
 * psql as the superuser, with a search_path of pg_catalog alone: objects the
 * apps' roles create in `public` (which app_owner owns) can never stand in for
 * a built-in function or operator in Pier's own SQL (CVE-2018-1058's pattern).
 */
export function psqlCommand(credentials: ServiceCredentials): string[] {
  if (!/^[A-Za-z0-9_]+$/.test(credentials.database)) throw new RangeError('not a plain database name');
  const conninfo = `dbname=${credentials.database} options='-c search_path=pg_catalog,pg_temp'`;
  return ['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-U', credentials.user, '-d', conninfo];
}

export function parseTableCounts(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const match = /^count:(.+)\|(\d+)$/.exec(line.trim());
    if (match) counts[match[1] as string] = Number(match[2]);
  }
  return counts;
}

/** Counts rows of every table (in one transaction). */
export async function tableCounts(
  ops: ContainerOperations,
  containerId: string,
  credentials: ServiceCredentials,
): Promise<Record<string, number>> {
  const result = await ops.exec(containerId, psqlCommand(credentials), {
    user: 'postgres',
    stdin: lines(['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\n', TABLE_COUNTS_SQL, 'COMMIT;\n']),
    timeoutMs: 5 * 60_000,
  });
  if (result.exitCode !== 0) throw new Error(`counting rows failed: ${lastLine(result.stderr)}`);
  return parseTableCounts(result.stdout);
}
