import { randomBytes } from 'node:crypto';
import { LABEL_APP, LABEL_RELEASE, LABEL_ROLE, SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, LABEL_PROCESS } from '../../apps/worker/src/deploy/replica-spec.ts';
import { MetricsCollector } from '../../apps/worker/src/metrics/metrics-collector.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { MemoryWorkload } from '../support/memory-workload.ts';

/**
 * The worker's collector against the Workload fake and real Postgres: what a
 * replica used between two passes (its cumulative counters' differences),
 * its memory and limit, only this installation's replicas, the host's row,
 * and one collector at a time under the lease.
 */

let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
let environmentId: string;
const workload = new MemoryWorkload({
  programs: { 'pier/app': { serve: () => ({ status: 200, body: 'ok' }) } },
  graceScale: 0.01,
});
const logger = createLogger({ name: 'test', level: 'silent', format: 'json' });
const MiB = 1024 * 1024;

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const app = await stores.apps.create({ name: 'sampled', webhookSecret: 'x'.repeat(40) });
  environmentId = (await stores.environments.get(app.id, 'production')).id;
});
afterAll(async () => {
  workload.close();
  await database?.destroy();
});

async function replica(name: string, instance: string, role = 'web') {
  return workload.run({
    name,
    image: 'pier/app',
    env: {},
    labels: {
      [LABEL_APP]: 'sampled',
      [LABEL_ENVIRONMENT_ID]: environmentId,
      [LABEL_INSTANCE]: instance,
      [LABEL_ROLE]: role,
      [LABEL_PROCESS]: role === 'web' ? 'web' : 'worker',
      [LABEL_RELEASE]: '11111111-1111-4111-8111-111111111111',
    },
    containerPort: null,
    networks: [],
    limits: { memoryBytes: 256 * MiB, nanoCpus: 1e9, pids: 64 },
  });
}

describe('MetricsCollector', () => {
  it("records each replica's use between passes, its memory and limit, and the host; one collector at a time", async () => {
    const web = await replica('sampled-web', 'mine');
    const worker = await replica('sampled-worker', 'mine', 'process');
    await replica('other-install', 'theirs');
    await replica('a-run', 'mine', 'run');
    let now = new Date('2026-05-01T10:00:10Z');
    const collector = new MetricsCollector({ stores, workload, instance: 'mine', logger, holder: 'a', now: () => now });
    const rival = new MetricsCollector({ stores, workload, instance: 'mine', logger, holder: 'b', now: () => now });
    workload.setStats(web.id, { cpuNanos: 5e9, memoryBytes: 100 * MiB, rxBytes: 1000, txBytes: 2000 });
    workload.setStats(worker.id, { cpuNanos: 1e9, memoryBytes: 30 * MiB });
    // The first pass knows no earlier counters: use before it was measured by nobody, so nothing is counted.
    expect(await collector.pass()).toBe(2);
    expect(await rival.pass()).toBe(0);

    now = new Date('2026-05-01T10:01:10Z');
    workload.setStats(web.id, { cpuNanos: 35e9, memoryBytes: 120 * MiB, rxBytes: 1500, txBytes: 2600 });
    expect(await collector.pass()).toBe(2);
    const rows = await database.sql<
      {
        replica: string;
        process_type: string;
        at: string;
        cpu: number;
        mem: string;
        max: string;
        lim: string;
        rx: string;
        tx: string;
      }[]
    >`select replica, process_type, to_char(at at time zone 'UTC', 'HH24:MI') as at, cpu_seconds as cpu,
             memory_bytes as mem, memory_max_bytes as max, memory_limit_bytes as lim, rx_bytes as rx, tx_bytes as tx
      from replica_metrics order by replica, at`;
    expect(rows).toEqual([
      {
        replica: 'sampled-web',
        process_type: 'web',
        at: '10:00',
        cpu: 0,
        mem: String(100 * MiB),
        max: String(100 * MiB),
        lim: String(256 * MiB),
        rx: '0',
        tx: '0',
      },
      {
        replica: 'sampled-web',
        process_type: 'web',
        at: '10:01',
        cpu: 30,
        mem: String(120 * MiB),
        max: String(120 * MiB),
        lim: String(256 * MiB),
        rx: '500',
        tx: '600',
      },
      {
        replica: 'sampled-worker',
        process_type: 'worker',
        at: '10:00',
        cpu: 0,
        mem: String(30 * MiB),
        max: String(30 * MiB),
        lim: String(256 * MiB),
        rx: '0',
        tx: '0',
      },
      {
        replica: 'sampled-worker',
        process_type: 'worker',
        at: '10:01',
        cpu: 0,
        mem: String(30 * MiB),
        max: String(30 * MiB),
        lim: String(256 * MiB),
        rx: '0',
        tx: '0',
      },
    ]);
    const [host] = await database.sql<{ samples: number; root_total_bytes: string; cpus: number }[]>`
      select samples, root_total_bytes, cpus from host_metrics where at = '2026-05-01T10:01:00Z'`;
    expect(host?.samples).toBe(1);
    expect(Number(host?.root_total_bytes)).toBeGreaterThan(0);
    expect(host?.cpus).toBeGreaterThan(0);

    // Once the holder stops, the other takes over.
    await collector.stop();
    now = new Date('2026-05-01T10:02:10Z');
    expect(await rival.pass()).toBe(2);
    await rival.stop();
  });
});
