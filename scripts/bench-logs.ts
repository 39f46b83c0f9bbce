/**
 * `npm run bench` (after the proxy's): the log pipeline, on this machine, in one run.
 *
 * 1. Baseline: a container prints LINES lines as fast as it can (node, ~100
 *    bytes each), and they are read back from the Docker Engine with no store
 *    (`containerLogs`, what `docker logs` does): the engine's read speed.
 * 2. The pipeline: the worker's LogCollector follows a container printing the
 *    same lines into Pier's log store (Postgres: one insert per batch, usage
 *    counters, NOTIFY), until every line is stored. Printed: sustained lines/s
 *    and the worker side's CPU per 1,000 lines (this process's user + system
 *    time: demultiplexing, batching, the insert's JSON), and the ratio to (1).
 * 3. The store's write path alone (LogStore.append) by batch size, against a
 *    plain append of the same lines as NDJSON to a file, which is the other
 *    design of docs/decisions/0004-log-store.md.
 *
 * Uses the test Postgres (PIER_TEST_DATABASE_URL) and local Docker; a private
 * database and containers labelled `pier.app=bench-logs-*`, removed at the end.
 * Bounded: well under a minute.
 *
 *   node --import tsx scripts/bench-logs.ts [--lines 100000]
 */

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { type ContainerSpec, LABEL_APP, LABEL_ENV, LABEL_RELEASE, LABEL_ROLE, SecretBox } from '@pier/core';
import { createStores, type NewLogLine } from '@pier/db';
import { DockerRuntime } from '@pier/docker';
import { createLogger } from '@pier/log';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, LABEL_PROCESS } from '../apps/worker/src/deploy/replica-spec.ts';
import { LogCollector } from '../apps/worker/src/logs/log-collector.ts';
import { createTestDatabase } from '../test/support/database.ts';
import setupTemplateDatabase from '../test/support/global-setup.ts';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '100000' } } });
const LINES = Number(values.lines);
if (!Number.isInteger(LINES) || LINES < 1000 || LINES > 1_000_000) throw new Error('--lines: a whole number 1000..1000000');
const DEADLINE_MS = 40_000;
const run = randomBytes(3).toString('hex');
const app = `bench-logs-${run}`;
const instance = `bench-logs-${run}`;
/** Prints LINES lines like an access log, in 64 KiB writes, as fast as the pipe takes them. */
const PRINTER = `
const n = Number(process.argv[1]); let i = 0; let chunk = '';
const pad = 'x'.repeat(40);
function more() {
  while (i < n) {
    i++; chunk += i + ' GET /api/v1/items?page=' + (i % 100) + ' 200 12ms ua=bench ' + pad + '\\n';
    if (chunk.length > 65536) { const ok = process.stdout.write(chunk); chunk = ''; if (!ok) return process.stdout.once('drain', more); }
  }
  process.stdout.write(chunk);
}
more();`;

const docker = new DockerRuntime();
const cpuMs = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const rate = (lines: number, ms: number) => Math.round((lines / ms) * 1000);
const row = (name: string, lines: number, ms: number, cpu: number) =>
  `${name.padEnd(44)} ${String(rate(lines, ms)).padStart(9)} lines/s  ${(cpu / (lines / 1000)).toFixed(2).padStart(7)} ms CPU / 1000 lines`;

function spec(environmentId: string, releaseId: string, name: string): ContainerSpec {
  return {
    name: `pier-${app}-production-v1-${name}`,
    image: 'pier-local/node:latest',
    env: {},
    labels: {
      [LABEL_APP]: app,
      [LABEL_ENV]: 'production',
      [LABEL_ENVIRONMENT_ID]: environmentId,
      [LABEL_RELEASE]: releaseId,
      [LABEL_ROLE]: 'process',
      [LABEL_PROCESS]: 'worker',
      [LABEL_INSTANCE]: instance,
    },
    containerPort: null,
    networks: [],
    limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1_000_000_000, pids: 64 },
    command: ['node', '-e', PRINTER, String(LINES)],
  };
}

async function exited(id: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while ((await docker.inspectContainer(id))?.status === 'running') {
    if (Date.now() > deadline) throw new Error('the printing container did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  await setupTemplateDatabase();
  const database = await createTestDatabase();
  const stores = createStores(database.db, new SecretBox(randomBytes(32)));
  const workDir = mkdtempSync(join(tmpdir(), 'pier-bench-logs-'));
  try {
    const created = await stores.apps.create({ name: app, webhookSecret: 'x'.repeat(40) });
    const environmentId = (await stores.environments.get(created.id, 'production')).id;
    const release = await stores.releases.create({
      environmentId,
      imageId: 'pier-local/node:latest',
      imageRef: 'pier-local/node:latest',
      config: {},
      configVersion: 1,
      replicas: 1,
      health: { path: null, intervalMs: 2000, timeoutMs: 2000, healthyThreshold: 2, deadlineMs: 120_000 },
    });
    // CPU time grows when other processes contend for the cores: the load is printed with the figures.
    console.log(
      `log pipeline, ${LINES} lines of ~100 bytes each (load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} CPUs)\n`,
    );

    // 1. The engine's own read speed.
    const baseline = await docker.runContainer(spec(environmentId, release.id, 'baseline'));
    await exited(baseline.id);
    let cpu = process.cpuUsage();
    let started = performance.now();
    let read = 0;
    for await (const _ of docker.containerLogs(baseline.id, { follow: true })) read++;
    const engineMs = performance.now() - started;
    const engineCpu = cpuMs(cpu);
    console.log(row('docker logs read (no store): baseline', read, engineMs, engineCpu));

    // 2. The pipeline: container → collector → Postgres, until every line is stored and the container marked finished.
    const logger = createLogger({
      name: 'bench',
      level: 'warn',
      format: 'json',
      destination: new Writable({ write: (_c, _e, d) => d() }),
    });
    const printer = await docker.runContainer(spec(environmentId, release.id, 'printer'));
    await exited(printer.id);
    const collector = new LogCollector({
      containers: docker,
      logs: stores.logs,
      leases: stores.leases,
      holder: 'bench',
      instance,
      logger,
    });
    cpu = process.cpuUsage();
    started = performance.now();
    collector.start();
    const deadline = Date.now() + DEADLINE_MS;
    while (!(await stores.logs.finishedContainers([printer.id])).has(printer.id)) {
      if (Date.now() > deadline) throw new Error('the collector did not store every line in time');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const pipelineMs = performance.now() - started;
    const pipelineCpu = cpuMs(cpu);
    await collector.stop();
    const [count] = await database.sql<{ n: string }[]>`select count(*) as n from log_lines where replica = ${printer.name}`;
    const stored = Number(count?.n);
    if (stored !== LINES) throw new Error(`the collector stored ${stored} lines of ${LINES}`);
    console.log(row('container → collector → Postgres (worker side)', stored, pipelineMs, pipelineCpu));
    console.log(
      `${'ratio pipeline / docker logs read'.padEnd(44)} ${(rate(stored, pipelineMs) / rate(read, engineMs)).toFixed(2).padStart(9)}\n`,
    );

    // 3. The write paths alone, by batch size: Postgres (LogStore.append) and a plain NDJSON file append.
    const sample: NewLogLine[] = Array.from({ length: 20_000 }, (_, i) => ({
      environmentId,
      at: new Date(),
      source: 'replica',
      processType: 'worker',
      replica: printer.name,
      releaseId: release.id,
      stream: 'stdout',
      line: `${i} GET /api/v1/items?page=${i % 100} 200 12ms ua=bench ${'x'.repeat(40)}`,
    }));
    for (const batch of [100, 1000, 5000]) {
      cpu = process.cpuUsage();
      started = performance.now();
      for (let i = 0; i < sample.length; i += batch) await stores.logs.append(sample.slice(i, i + batch));
      console.log(row(`LogStore.append, batches of ${batch}`, sample.length, performance.now() - started, cpuMs(cpu)));
    }
    for (const batch of [100, 1000, 5000]) {
      const file = openSync(join(workDir, `env-${batch}.ndjson`), 'a');
      cpu = process.cpuUsage();
      started = performance.now();
      for (let i = 0; i < sample.length; i += batch) {
        const text = sample
          .slice(i, i + batch)
          .map((l) => JSON.stringify({ at: l.at, p: l.processType, r: l.replica, rel: l.releaseId, s: l.stream, l: l.line }))
          .join('\n');
        writeSync(file, `${text}\n`);
        fsyncSync(file); // durable per batch, as a committed insert is
      }
      closeSync(file);
      console.log(
        row(`file append (NDJSON, fsync), batches of ${batch}`, sample.length, performance.now() - started, cpuMs(cpu)),
      );
    }
    const [size] = await database.sql<{ b: string }[]>`select pg_total_relation_size('log_lines') as b`;
    const usage = await stores.logs.usage(environmentId);
    console.log(
      `\non disk: ${(Number(size?.b) / 1024 / 1024).toFixed(1)} MiB for ${usage.lines} lines (${(usage.bytes / 1024 / 1024).toFixed(1)} MiB of text), ` +
        `${(Number(size?.b) / usage.bytes).toFixed(2)}× the text with indexes`,
    );
  } finally {
    for (const c of await docker.listContainers({ [LABEL_APP]: app }).catch(() => []))
      await docker.removeContainer(c.id).catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
    await database.destroy();
  }
}

await main();
