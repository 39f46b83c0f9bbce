import { randomBytes } from 'node:crypto';
import { type ContainerSpec, LABEL_APP, LABEL_ENV, LABEL_RELEASE, LABEL_ROLE, SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, LABEL_PROCESS } from '../../apps/worker/src/deploy/replica-spec.ts';
import { LogCollector, MAX_LINE_BYTES } from '../../apps/worker/src/logs/log-collector.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { quietLogger } from '../support/quiet-logger.ts';

/**
 * The log collector against real Docker and Postgres: a running container's
 * lines land in the store tagged with replica, process type and release; a
 * collector stopped while the container keeps printing and started again
 * (a worker restart) neither loses nor repeats a line; a container that
 * prints and exits at once is read to its end and marked finished; a huge
 * line is cut.
 */

const run = randomBytes(4).toString('hex');
const app = `logs-${run}`;
const instance = `pier-test-logs-${run}`;
const docker = new DockerRuntime();
let database: TestDatabase;
let stores: ReturnType<typeof createStores>;
let environmentId: string;
let release: { id: string; version: number };

const logger = quietLogger();

beforeAll(async () => {
  database = await createTestDatabase();
  stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const row = await stores.apps.create({ name: app, webhookSecret: 'x'.repeat(40) });
  environmentId = (await stores.environments.get(row.id, 'production')).id;
  release = await stores.releases.create({
    environmentId,
    imageId: 'pier-local/debian:latest',
    imageRef: 'pier-local/debian:latest',
    config: {},
    configVersion: 1,
    replicas: 1,
    health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
  });
});

afterAll(async () => {
  for (const c of await docker.listContainers({ [LABEL_APP]: app }).catch(() => [])) await docker.removeContainer(c.id);
  await database?.destroy();
});

function collector(holder: string): LogCollector {
  return new LogCollector({
    containers: docker,
    logs: stores.logs,
    leases: stores.leases,
    holder,
    instance,
    logger,
    discoverIntervalMs: 100,
    flushMs: 50,
  });
}

function spec(name: string, script: string, role = 'process'): ContainerSpec {
  return {
    name: `pier-${app}-production-v${release.version}-${name}`,
    image: 'pier-local/debian:latest',
    env: {},
    labels: {
      [LABEL_APP]: app,
      [LABEL_ENV]: 'production',
      [LABEL_ENVIRONMENT_ID]: environmentId,
      [LABEL_RELEASE]: release.id,
      [LABEL_ROLE]: role,
      [LABEL_PROCESS]: 'worker',
      [LABEL_INSTANCE]: instance,
    },
    containerPort: null,
    networks: [],
    limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pids: 32 },
    command: ['sh', '-c', script],
  };
}

async function stored(replica: string) {
  return stores.logs.read({ environmentId, replica, limit: 10_000, order: 'asc' });
}

/** Lines the engine holds for a container (what `docker logs` shows). */
async function engineLines(id: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const entry of docker.containerLogs(id, {})) lines.push(entry.line);
  return lines;
}

describe('LogCollector', () => {
  it('resumes after a restart from its cursor: every line once, in order, tagged; then marks the container finished', async () => {
    // Prints `n 1`, `n 2`, … every 20 ms until /tmp/stop exists, then exits.
    const ticker = await docker.runContainer(
      spec('ticker', 'i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); echo "n $i"; sleep 0.02; done; echo done'),
    );
    const name = ticker.name;
    const first = collector('first');
    first.start();
    await expect.poll(async () => (await stored(name)).length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(20);
    await first.stop();
    const before = (await stored(name)).length;
    // The container goes on printing while no collector runs.
    await expect
      .poll(async () => (await engineLines(ticker.id)).length, { timeout: 15_000, interval: 100 })
      .toBeGreaterThan(before + 30);
    const second = collector('second');
    second.start();
    try {
      await expect.poll(async () => (await stored(name)).length, { timeout: 15_000, interval: 100 }).toBeGreaterThan(before + 30);
      await docker.exec(ticker.id, ['touch', '/tmp/stop']);
      await expect.poll(async () => (await stored(name)).at(-1)?.line, { timeout: 15_000, interval: 100 }).toBe('done');
      const rows = await stored(name);
      const printed = await engineLines(ticker.id);
      expect(rows.map((r) => r.line)).toEqual(printed);
      expect(printed.slice(0, 3)).toEqual(['n 1', 'n 2', 'n 3']);
      expect(rows[0]).toMatchObject({
        replica: name,
        processType: 'worker',
        source: 'replica',
        releaseId: release.id,
        releaseVersion: release.version,
        stream: 'stdout',
      });
      // Read to its end once it stopped: finished, never followed again.
      await expect
        .poll(async () => (await stores.logs.finishedContainers([ticker.id])).has(ticker.id), { timeout: 10_000 })
        .toBe(true);
      await expect.poll(() => second.following, { timeout: 5000 }).toBe(0);
    } finally {
      await second.stop();
    }
  });

  it('reads a container that prints and exits at once to its end, and cuts a line longer than 16 KiB', async () => {
    const active = collector('crash');
    active.start();
    try {
      const crasher = await docker.runContainer(
        spec('crasher', `echo starting; head -c 40000 /dev/zero | tr '\\0' x; echo; echo boom >&2; exit 1`, 'release'),
      );
      // stdout and stderr are captured apart: compared per stream.
      const lines = async (stream: string) =>
        (await stored(crasher.name)).filter((r) => r.stream === stream).map((r) => r.line.slice(0, 10));
      await expect.poll(() => lines('stdout'), { timeout: 15_000, interval: 100 }).toEqual(['starting', 'x'.repeat(10)]);
      await expect.poll(() => lines('stderr'), { timeout: 5000, interval: 100 }).toEqual(['boom']);
      const rows = (await stored(crasher.name)).filter((r) => r.stream === 'stdout');
      expect(rows[0]).toMatchObject({ source: 'release', processType: 'release' });
      expect(Buffer.byteLength(rows[1]?.line ?? '')).toBeLessThan(MAX_LINE_BYTES + 40);
      expect(rows[1]?.line).toMatch(new RegExp(`… \\[${40_000 - MAX_LINE_BYTES} bytes cut\\]$`));
      await expect
        .poll(async () => (await stores.logs.finishedContainers([crasher.id])).has(crasher.id), { timeout: 10_000 })
        .toBe(true);
    } finally {
      await active.stop();
    }
  });

  it('only one collector acts: a second one waits for the lease', async () => {
    const one = collector('one');
    const two = collector('two');
    one.start();
    two.start();
    try {
      const talker = await docker.runContainer(spec('talker', 'for i in 1 2 3; do echo "t $i"; done; sleep 30'));
      await expect.poll(async () => (await stored(talker.name)).length, { timeout: 15_000, interval: 100 }).toBe(3);
      expect(one.following + two.following).toBe(1);
      await docker.removeContainer(talker.id);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });
});
