import { randomBytes } from 'node:crypto';
import { SecretBox } from '@pier/core';
import { createStores, type ReconcileTarget, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaEvents } from '../../apps/worker/src/events/replica-events.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * `health.failing` as the reconciler records it each pass (ReplicaEvents),
 * from real replica rows whose health the proxy reported, against a real
 * Postgres: not for a probe that just failed, once for a replica failing
 * 10 s or more however many passes see it, and again for a new stretch.
 */

let database: TestDatabase;
let stores: Stores;
let target: ReconcileTarget;
let replicaId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const app = await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  const env = await stores.environments.update(app.id, 'production', { replicas: 1 });
  const release = await stores.releases.create({
    environmentId: env.id,
    imageId: 'sha256:one',
    imageRef: 'pier/shop:one',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/health', intervalMs: 50, timeoutMs: 500, healthyThreshold: 1, deadlineMs: 1500 },
  });
  const row = await stores.replicas.add(env.id, release.id, 'shop-production-web-1', { type: 'web', memoryMb: 512, cpus: 1 });
  replicaId = row.id;
  await database.sql`update replicas set state = 'serving' where id = ${replicaId}`;
  const targets = await stores.environmentHealth.targets();
  target = targets.find((t) => t.environmentId === env.id) as ReconcileTarget;
});
afterAll(async () => database?.destroy());

async function pass(events: ReplicaEvents, at: Date): Promise<void> {
  const rows = await stores.replicas.all();
  await events.failingHealth(rows, new Map([[target.environmentId, target]]), at);
}

async function failing() {
  return (await stores.events.list({ kinds: ['health.failing'], limit: 20 })).events;
}

describe('health.failing', () => {
  it('is recorded once per replica and stretch of failing, not for a single failed probe', async () => {
    const events = new ReplicaEvents(stores.events);
    await stores.replicas.reportHealth(replicaId, false);
    const [row] = await database.sql<{ since: Date }[]>`select unhealthy_since as since from replicas where id = ${replicaId}`;
    const since = new Date(row?.since as Date);
    await pass(events, new Date(since.getTime() + 2_000));
    expect(await failing()).toEqual([]);
    await pass(events, new Date(since.getTime() + 12_000));
    await pass(events, new Date(since.getTime() + 20_000));
    // Another worker's reconciler (after a takeover) sees the same stretch: still one event.
    await pass(new ReplicaEvents(stores.events), new Date(since.getTime() + 25_000));
    const [event, ...more] = await failing();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ envName: 'production', severity: 'warning' });
    expect(event?.message).toBe('shop production: web replica shop-production-web-1 has failed its health checks for 12 s.');

    await stores.replicas.reportHealth(replicaId, true);
    await pass(events, new Date());
    await stores.replicas.reportHealth(replicaId, false);
    await pass(events, new Date(Date.now() + 15_000));
    expect(await failing()).toHaveLength(2);
  });
});
