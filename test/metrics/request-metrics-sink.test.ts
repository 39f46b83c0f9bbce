import { randomBytes } from 'node:crypto';
import { emptyLatency, type RequestBucket, SecretBox } from '@pier/core';
import { connectDatabase, createStores, grantProxyRole, holdsMoreThanProxyNeeds, PostgresRequestMetrics } from '@pier/db';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The proxy adds its request counts to request_metrics as its own database
 * role: one statement that sums into the existing row of the same
 * environment, release and minute (histograms element by element), with no
 * more privilege than that.
 */

const PROXY_ROLE = process.env.PIER_TEST_PROXY_ROLE ?? 'pier_test_proxy';
let database: TestDatabase;
let asProxy: postgres.Sql;
let environmentId: string;
let releaseId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const app = await stores.apps.create({ name: 'counted', webhookSecret: 'x'.repeat(40) });
  const environment = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: environment.id,
    imageId: 'sha256:abc',
    imageRef: 'pier/counted:1',
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  });
  environmentId = environment.id;
  releaseId = release.id;
  await grantProxyRole(database.sql, PROXY_ROLE);
  const url = new URL(database.url);
  url.username = PROXY_ROLE;
  url.password = PROXY_ROLE;
  // Through connectDatabase, as the proxy connects (drizzle shares the client and changes its serializers).
  asProxy = connectDatabase(url.toString(), { max: 1 }).sql;
});

afterAll(async () => {
  await asProxy?.end();
  await database?.destroy();
});

const MINUTE = new Date('2026-05-01T12:34:00Z');

function bucket(overrides: Partial<RequestBucket>): RequestBucket {
  return {
    environmentId,
    releaseId,
    at: MINUTE,
    byClass: [0, 0, 0, 0, 0, 0],
    bytesIn: 0,
    bytesOut: 0,
    latencyBuckets: emptyLatency(),
    latencySum: 0,
    ...overrides,
  };
}

const latency = (counts: Record<number, number>) => emptyLatency().map((_, i) => counts[i] ?? 0);

describe('PostgresRequestMetrics as the proxy role', () => {
  it('adds counts into one row per environment, release and minute, the histogram element by element', async () => {
    const sink = new PostgresRequestMetrics(asProxy);
    await sink.add(
      [
        bucket({
          byClass: [0, 0, 3, 0, 1, 2],
          bytesIn: 100,
          bytesOut: 1000,
          latencyBuckets: latency({ 2: 3, 5: 2 }),
          latencySum: 0.5,
        }),
        bucket({ releaseId: null, byClass: [0, 0, 0, 0, 0, 4] }),
      ],
      60,
    );
    // A second proxy (or the next flush) adds to the same rows.
    await sink.add(
      [
        bucket({
          byClass: [0, 1, 1, 0, 0, 1],
          bytesIn: 5,
          bytesOut: 50,
          latencyBuckets: latency({ 2: 1, 14: 1 }),
          latencySum: 40,
        }),
      ],
      60,
    );
    const rows = await database.sql<
      {
        release_id: string | null;
        s1: string;
        s2: string;
        s4: string;
        s5: string;
        bi: string;
        bo: string;
        lb: string[];
        ls: number;
      }[]
    >`select release_id, status_1xx as s1, status_2xx as s2, status_4xx as s4, status_5xx as s5, bytes_in as bi,
             bytes_out as bo, latency_buckets as lb, latency_sum as ls
      from request_metrics where environment_id = ${environmentId} and step = 60 and at = ${MINUTE.toISOString()}
      order by release_id nulls last`;
    expect(rows).toHaveLength(2);
    const [released, unanswered] = rows;
    expect(released).toMatchObject({
      release_id: releaseId,
      s1: '1',
      s2: '4',
      s4: '1',
      s5: '3',
      bi: '105',
      bo: '1050',
      ls: 40.5,
    });
    expect(released?.lb.map(Number)).toEqual(latency({ 2: 4, 5: 2, 14: 1 }));
    expect(unanswered).toMatchObject({ release_id: null, s5: '4' });
  });

  it('drops the buckets of an environment deleted since they were counted, and stores the others', async () => {
    const sink = new PostgresRequestMetrics(asProxy);
    const at = new Date('2026-05-01T12:40:00Z');
    const gone = '00000000-0000-4000-8000-000000000000';
    await sink.add(
      [bucket({ at, byClass: [0, 0, 7, 0, 0, 0] }), bucket({ at, environmentId: gone, byClass: [0, 0, 1, 0, 0, 0] })],
      60,
    );
    const rows = await database.sql<{ environment_id: string; s2: string }[]>`
      select environment_id, status_2xx as s2 from request_metrics where at = ${at.toISOString()}`;
    expect(rows).toEqual([{ environment_id: environmentId, s2: '7' }]);
  });

  it('holds no privilege beyond that: no secrets, no other metrics, no deleting', async () => {
    expect(await holdsMoreThanProxyNeeds(asProxy)).toBe(false);
    await expect(asProxy`select * from variables`).rejects.toThrow(/permission denied/);
    await expect(asProxy`select memory_bytes from replica_metrics`).rejects.toThrow(/permission denied/);
    await expect(asProxy`delete from request_metrics`).rejects.toThrow(/permission denied/);
    await expect(asProxy`select config_ciphertext from releases`).rejects.toThrow(/permission denied/);
  });
});
