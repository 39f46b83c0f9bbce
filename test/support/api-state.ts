import type { LightMyRequestResponse } from 'fastify';
import type postgres from 'postgres';
import { expect } from 'vitest';

/**
 * Every row of every table of Pier's schema, keyed by table name, to show that
 * a refused request changed nothing. Tables added later are included unasked.
 * The event log is left out: a refusal (a quota, the host's capacity) is one
 * of the things it records.
 */
export async function snapshotState(sql: postgres.Sql): Promise<Record<string, unknown[]>> {
  let query = snapshotQueries.get(sql);
  if (!query) {
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'events' order by table_name`;
    const columns = tables.map(({ name }) => {
      const quoted = `"${name.replaceAll('"', '""')}"`;
      return `(select coalesce(json_agg(t order by t::text), '[]') from ${quoted} t) as ${quoted}`;
    });
    query = `select ${columns.join(', ')}`;
    snapshotQueries.set(sql, query);
  }
  const [state] = await sql.unsafe(query);
  return state as Record<string, unknown[]>;
}

/** The snapshot query of each database, built once from its catalog. */
const snapshotQueries = new WeakMap<postgres.Sql, string>();

/** Checks the one error shape, `{ error: { code, message } }`, and returns the message. */
export function expectError(res: LightMyRequestResponse, status: number, code: string, messagePart?: string): string {
  expect({ status: res.statusCode, contentType: res.headers['content-type'] }).toEqual({
    status,
    contentType: 'application/json; charset=utf-8',
  });
  const body = res.json();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  if (messagePart !== undefined) expect(body.error.message).toContain(messagePart);
  return body.error.message;
}
