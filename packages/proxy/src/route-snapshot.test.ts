import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Route } from '@pier/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSnapshot, SnapshotError, writeSnapshot } from './route-snapshot.ts';

const routes: Route[] = [
  { app: 'web', env: 'production', hostnames: ['web.pier.test'], upstreams: [{ id: 'c1', host: '127.0.0.1', port: 32768 }] },
  { app: 'web', env: 'staging', hostnames: ['web-staging.pier.test'], upstreams: [], healthPath: '/up' },
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pier-snapshot-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('route snapshot', () => {
  it('round-trips a table, creating the directory, leaving no temporary file', async () => {
    const path = join(dir, 'nested', 'routes.json');
    await writeSnapshot(path, routes, new Date('2030-01-02T03:04:05Z'));
    expect(await readSnapshot(path)).toEqual({ routes, savedAt: '2030-01-02T03:04:05.000Z' });
    await writeSnapshot(path, routes.slice(0, 1));
    expect((await readSnapshot(path)).routes).toEqual(routes.slice(0, 1));
    expect(await readdir(join(dir, 'nested'))).toEqual(['routes.json']);
  });

  it.each([
    ['missing', null, /cannot read/],
    ['not JSON', '{"version":1,"routes":[', /not valid JSON/],
    ['truncated to nothing', '', /not valid JSON/],
    ['another version', JSON.stringify({ version: 2, savedAt: 'x', routes: [] }), /malformed/],
    [
      'a bad port',
      JSON.stringify({ version: 1, savedAt: 'x', routes: [{ ...routes[0], upstreams: [{ id: 'a', host: 'h', port: 0 }] }] }),
      /malformed/,
    ],
  ])('refuses a %s snapshot with a SnapshotError', async (_, content, message) => {
    const path = join(dir, 'routes.json');
    if (content !== null) await writeFile(path, content);
    const error = await readSnapshot(path).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SnapshotError);
    expect((error as Error).message).toMatch(message);
  });

  it('writes readable JSON, private to the proxy user', async () => {
    const path = join(dir, 'routes.json');
    await writeSnapshot(path, routes);
    expect(JSON.parse(await readFile(path, 'utf8')).version).toBe(1);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
