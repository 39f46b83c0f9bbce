import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, PostgresRouteSource, schema } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { makeLive } from '../support/live-release.ts';

let database: TestDatabase;
let source: PostgresRouteSource;
let stores: ReturnType<typeof createStores>;

const health = { path: '/up', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 };

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  source = new PostgresRouteSource(database.db, database.sql, 'Pier.Test');
});
afterAll(async () => database?.destroy());

async function deployed(app: string, env: string, ports: number[]) {
  const created = await stores.apps.create({ name: app, webhookSecret: 'x'.repeat(40) });
  const environment = await stores.environments.get(created.id, env);
  await stores.environments.update(created.id, env, { healthPath: '/up' });
  const release = await stores.releases.create({
    environmentId: environment.id,
    imageId: 'sha256:abc',
    imageRef: `pier/${app}:1`,
    config: {},
    configVersion: 0,
    replicas: ports.length,
    health,
  });
  const replicas = [];
  for (const [i, port] of ports.entries()) {
    const replica = await stores.replicas.add(environment.id, release.id, `pier-${app}-${env}-${i}`);
    await stores.replicas.attach(replica.id, `container-${app}-${i}`, { host: '127.0.0.2', port });
    replicas.push(replica);
  }
  return { environment, release, replicas };
}

describe('PostgresRouteSource', () => {
  it('loads deployed environments with their hostnames and only serving replicas', async () => {
    expect(await source.load()).toEqual([]);
    const web = await deployed('web', 'production', [40001, 40002]);
    await database.db.insert(schema.domains).values({ environmentId: web.environment.id, hostname: 'www.example.org' });
    const routesBefore = await source.load();
    expect(routesBefore).toEqual([]); // nothing switched yet: desired release unset

    await makeLive(database.db, web.environment.id, web.release.id, [web.replicas[0]?.id as string]);
    const [route] = await source.load();
    expect(route).toEqual({
      app: 'web',
      env: 'production',
      // Requests are counted under the environment and the release of the replica that answered.
      environmentId: web.environment.id,
      healthPath: '/up',
      hostnames: ['web.pier.test', 'www.example.org'],
      // The address the runtime reported.
      upstreams: [{ id: web.replicas[0]?.id, host: '127.0.0.2', port: 40001, releaseId: web.release.id }],
    });
  });

  it('notifies subscribers after a switch, and stops after unsubscribe', async () => {
    const staging = await deployed('api', 'staging', [40010]);
    let calls = 0;
    const unsubscribe = source.subscribe(() => {
      calls += 1;
    });
    await new Promise((r) => setTimeout(r, 300)); // LISTEN is established asynchronously
    await makeLive(database.db, staging.environment.id, staging.release.id, [staging.replicas[0]?.id as string]);
    await expect.poll(() => calls, { timeout: 5000 }).toBeGreaterThan(0);
    const routes = await source.load();
    expect(routes.find((r) => r.app === 'api')?.hostnames).toEqual(['api-staging.pier.test']);

    unsubscribe();
    await new Promise((r) => setTimeout(r, 300));
    const before = calls;
    await stores.replicas.drain([staging.replicas[0]?.id as string]);
    await new Promise((r) => setTimeout(r, 500));
    expect(calls).toBe(before);
    expect((await source.load()).find((r) => r.app === 'api')?.upstreams).toEqual([]);
  });

  it('carries the live release’s health check, not the environment’s setting: a path, tcp, or none (automatic)', async () => {
    const { environment, replicas } = await deployed('checks', 'production', [40020]);
    const check = async (path: string | null) => {
      const release = await stores.releases.create({
        environmentId: environment.id,
        imageId: 'sha256:abc',
        imageRef: 'pier/checks:1',
        config: {},
        configVersion: 0,
        replicas: 1,
        health: { ...health, path },
      });
      await makeLive(database.db, environment.id, release.id, [replicas[0]?.id as string]);
      return (await source.load()).find((r) => r.app === 'checks');
    };
    expect(await check('tcp')).toMatchObject({ healthPath: 'tcp' });
    const automatic = await check(null);
    expect(automatic && 'healthPath' in automatic).toBe(false);
    // The environment still says /up (deployed() set it): a release made before it changed keeps its own check.
    expect((await stores.environments.get(environment.appId, 'production')).healthPath).toBe('/up');
  });

  it('rejects when Postgres cannot be reached', async () => {
    const { connectDatabase } = await import('@pier/db');
    const down = connectDatabase('postgres://pier:x@127.0.0.1:1/none', { max: 1 });
    await expect(new PostgresRouteSource(down.db, down.sql, 'pier.test').load()).rejects.toThrow();
    await down.close();
  });
});
