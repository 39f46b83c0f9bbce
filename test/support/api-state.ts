import type { LightMyRequestResponse } from 'fastify';
import type postgres from 'postgres';
import { expect } from 'vitest';

/** Every row of the tables the API writes, to show that a refused request changed nothing. */
export async function snapshotState(sql: postgres.Sql) {
  const [apps, environments, variables, tokens] = await Promise.all([
    sql`select * from apps order by id`,
    sql`select * from environments order by id`,
    sql`select * from variables order by id`,
    sql`select * from api_tokens order by id`,
  ]);
  return { apps: [...apps], environments: [...environments], variables: [...variables], tokens: [...tokens] };
}

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
