import type { ContainerOperations, ServiceCredentials, ServiceType } from '@pier/core';

/**
 * Commands run inside service containers. Every one is an argument array;
 * the password reaches Redis tools through REDISCLI_AUTH and is never part of a
 * command. Postgres tools connect over the container's unix socket as the
 * `postgres` OS user (local connections are trusted by the image).
 */

/** One `schema.table|rows` line per table of the database, sorted: what a backup is checked against. */
const TABLE_COUNTS_SQL = `SELECT format('SELECT %L || count(*) FROM %I.%I', 'count:' || n.nspname || '.' || c.relname || '|', n.nspname, c.relname)
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

export { TABLE_COUNTS_SQL };

/** Whether the service accepts authenticated connections over TCP (so apps on its network can connect). */
export async function isReady(
  ops: ContainerOperations,
  containerId: string,
  type: ServiceType,
  credentials: ServiceCredentials,
): Promise<boolean> {
  try {
    if (type === 'postgres') {
      const result = await ops.exec(
        containerId,
        ['psql', '-X', '-A', '-t', '-h', '127.0.0.1', '-U', credentials.user, '-d', credentials.database, '-c', 'select 1'],
        { env: { PGPASSWORD: credentials.password, PGCONNECT_TIMEOUT: '3' }, timeoutMs: 10_000 },
      );
      return result.exitCode === 0 && result.stdout.trim() === '1';
    }
    const result = await ops.exec(containerId, ['redis-cli', '-h', '127.0.0.1', '--no-auth-warning', 'PING'], {
      env: { REDISCLI_AUTH: credentials.password },
      timeoutMs: 10_000,
    });
    return result.exitCode === 0 && result.stdout.trim() === 'PONG';
  } catch {
    return false;
  }
}

/** Polls `isReady` until it is true or `timeoutMs` passes. */
export async function waitReady(
  ops: ContainerOperations,
  containerId: string,
  type: ServiceType,
  credentials: ServiceCredentials,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isReady(ops, containerId, type, credentials)) return;
    const info = await ops.inspectContainer(containerId);
    if (!info || info.status === 'exited' || info.status === 'dead') {
      throw new Error(`the container ${info ? `exited with code ${info.exitCode}` : 'is gone'} before accepting connections`);
    }
    if (Date.now() > deadline) throw new Error(`did not accept connections within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function* lines(parts: string[]): AsyncIterable<string> {
  for (const part of parts) yield part;
}

export function lastLine(text: string): string {
  const rows = text.trim().split('\n');
  return rows.slice(-3).join(' / ') || '(no output)';
}
