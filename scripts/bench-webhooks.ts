/**
 * Benchmark (not a test): how fast the webhook is answered, and what the
 * control plane adds to a cached rebuild.
 *
 *   node --import tsx scripts/bench-webhooks.ts [--deliveries 500] [--rounds 5]
 *
 * Runs the real API (listening on 127.0.0.1) and the real worker loops on a
 * fresh database, the local Redis and Docker, as `npm test` sets them up
 * (PIER_TEST_DATABASE_URL / PIER_TEST_REDIS_URL override where they are).
 * All traffic stays on loopback. Everything it creates is removed at the end.
 *
 * 1. Webhook answer latency: signed GitHub push deliveries over HTTP, one at a
 *    time, then 10 at a time; each one records a deployment and its outbox
 *    entry (the older queued one is superseded). No worker runs meanwhile.
 * 2. Control-plane overhead of a cached rebuild: for the same commit, the time
 *    from sending the webhook to the image being recorded on the deployment,
 *    minus the time Docker takes to build the same context with a warm cache
 *    when DockerRuntime.buildImage is called directly.
 * 3. Control-plane overhead of a cached deploy: the time from sending the
 *    webhook to 100 % of the environment's serving replicas being of the new
 *    release (the route the proxy loads), minus the same cached build done
 *    directly and minus the app's own start (a container of the image run
 *    directly, polled every 20 ms until it answers). Two replicas, a health
 *    check every 500 ms that passes on the first success, no drain wait.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LABEL_APP, LABEL_COMMIT, LABEL_DEPLOYMENT, LABEL_ROLE } from '@pier/core';
import { createStores } from '@pier/db';
import { signPayload } from '@pier/github';
import { GitSourceFetcher } from '@pier/source';
import { TestGitRepository } from '../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../test/support/api.ts';
import setupTemplateDatabase from '../test/support/global-setup.ts';
import { pushPayload } from '../test/support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../test/support/worker.ts';

const { values } = parseArgs({
  options: { deliveries: { type: 'string', default: '500' }, rounds: { type: 'string', default: '5' } },
});
const DELIVERIES = bounded(Number(values.deliveries), 1, 5000);
const ROUNDS = bounded(Number(values.rounds), 1, 20);
/** Phase 1 stops sending after this long, whatever the count. */
const LATENCY_BUDGET_MS = 90_000;
const BUILD_TIMEOUT_MS = 120_000;
const CONCURRENCY = 10;

const appName = `bench-${randomUUID().slice(0, 8)}`;
const fullName = `acme/${appName}`;
const DOCKERFILE = `FROM pier-local/debian:bookworm\nCOPY hello.txt /srv/hello.txt\nRUN echo ${appName} && cat /srv/hello.txt\n`;
/** Phase 3's app: a web server answering /health, so that a deploy can go live. */
const SERVER = "require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT)";
const WEB_DOCKERFILE = `FROM pier-local/node\nCOPY server.js /srv/server.js\nCMD ["node", "/srv/server.js"]\n`;
const DEPLOY_TIMEOUT_MS = 180_000;

function bounded(value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`expected a whole number ${min}..${max}`);
  return value;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

const ms = (n: number) => `${n.toFixed(1).padStart(7)} ms`;

interface Target {
  url: string;
  secret: string;
  sha: string;
}

/** `repository.pushed_at` of the next delivery: each is a new push (a replay of an earlier one would deploy nothing). */
let pushedAt = Math.floor(Date.now() / 1000);

/** One signed push delivery over HTTP; resolves with the answer time in ms and the deployment it queued. */
async function deliver(target: Target): Promise<{ ms: number; deploymentId: string }> {
  const payload = pushPayload(fullName, 'refs/heads/main', target.sha);
  payload.repository.pushed_at = ++pushedAt;
  const body = Buffer.from(JSON.stringify(payload));
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': signPayload(body, target.secret),
    'user-agent': 'GitHub-Hookshot/bench',
  };
  const started = performance.now();
  const res = await fetch(`${target.url}/webhooks/github`, { method: 'POST', headers, body });
  const answer = (await res.json()) as { deployments?: { id: string }[] };
  const elapsed = performance.now() - started;
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(answer)}`);
  return { ms: elapsed, deploymentId: answer.deployments?.[0]?.id ?? '' };
}

/** Sends up to `count` deliveries, `concurrency` at a time, within the time budget. */
async function measureAnswers(target: Target, count: number, concurrency: number): Promise<number[]> {
  const times: number[] = [];
  const deadline = Date.now() + LATENCY_BUDGET_MS;
  let next = 0;
  const lane = async () => {
    while (next < count && Date.now() < deadline) {
      next++;
      times.push((await deliver(target)).ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return times;
}

function printLatency(label: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`  ${label} (${times.length} deliveries)`);
  console.log(`    p50 ${ms(percentile(sorted, 50))}   p99 ${ms(percentile(sorted, 99))}   max ${ms(sorted.at(-1) ?? 0)}`);
}

/** Waits until the deployment has its image recorded; returns when its build was claimed and when the image was recorded. */
async function buildTimes(api: TestApi, id: string): Promise<{ claimed: number; recorded: number }> {
  const deployments = createStores(api.database.db, api.box).deployments;
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    const row = await deployments.get(id);
    if (row.state === 'deploying' && row.buildStartedAt && row.buildFinishedAt)
      return { claimed: row.buildStartedAt.getTime(), recorded: row.buildFinishedAt.getTime() };
    if (row.state !== 'queued' && row.state !== 'building') throw new Error(`deployment ${id} ended ${row.state}: ${row.reason}`);
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${row.state}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The same build the worker makes (same context, Dockerfile and label keys), straight through DockerRuntime. */
async function directBuildMs(worker: TestWorker, contextDirectory: string, sha: string): Promise<number> {
  const started = performance.now();
  await worker.docker.buildImage(
    {
      contextDirectory,
      dockerfile: 'Dockerfile',
      tag: `pier/${appName}:bench-direct`,
      labels: { [LABEL_APP]: appName, [LABEL_DEPLOYMENT]: randomUUID(), [LABEL_COMMIT]: sha, [LABEL_ROLE]: 'app-image' },
      memoryBytes: 1024 * 1024 * 1024,
      timeoutMs: BUILD_TIMEOUT_MS,
    },
    () => {},
  );
  return performance.now() - started;
}

/** Polls Postgres until the deployment is live and every serving replica is of its release; returns when. */
async function trafficSwitched(api: TestApi, id: string, replicas: number): Promise<number> {
  const deadline = Date.now() + DEPLOY_TIMEOUT_MS;
  for (;;) {
    // Plain SQL over columns every schema version has: the route the proxy loads is the serving replicas.
    const [row] = await api.database.sql<{ state: string; reason: string | null; fresh: number; stale: number }[]>`
      select d.state, d.reason,
        (select count(*)::int from replicas r where r.environment_id = d.environment_id and r.state = 'serving'
           and r.release_id = d.release_id) as fresh,
        (select count(*)::int from replicas r where r.environment_id = d.environment_id and r.state = 'serving'
           and r.release_id is distinct from d.release_id) as stale
      from deployments d where d.id = ${id}`;
    if (!row) throw new Error(`deployment ${id} not found`);
    if (row.state === 'live' && row.stale === 0 && row.fresh >= replicas) return Date.now();
    if (['failed', 'cancelled', 'superseded'].includes(row.state))
      throw new Error(`deployment ${id} ended ${row.state}: ${row.reason}`);
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${row.state}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The app's own start: a container of the image run directly, polled every 20 ms until /health answers 200. */
async function directStartMs(worker: TestWorker, imageId: string): Promise<number> {
  const started = performance.now();
  const info = await worker.docker.runContainer({
    name: `${appName}-direct-${randomUUID().slice(0, 6)}`,
    image: imageId,
    env: { PORT: '8080' },
    labels: { [LABEL_APP]: appName, [LABEL_ROLE]: 'bench' },
    containerPort: 8080,
    networks: [],
    limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_000_000_000, pids: 512 },
  });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${info.hostPort}/health`, { signal: AbortSignal.timeout(1000) })
        .then((res) => res.ok)
        .catch(() => false);
      if (ok) return performance.now() - started;
      if (performance.now() - started > 60_000) throw new Error('the app did not answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await worker.docker.removeContainer(info.id);
  }
}

async function main(): Promise<void> {
  await setupTemplateDatabase();
  // All deliveries come from loopback: the per-source rate limit is out of the way.
  const api = await createTestApi({ webhookRateLimitPerMinute: 1_000_000 });
  const repo = new TestGitRepository();
  let worker: TestWorker | undefined;
  const checkout = await mkdtemp(join(tmpdir(), 'pier-bench-context-'));
  try {
    const created = await api.request({
      method: 'POST',
      url: '/apps',
      payload: { name: appName, repository: { fullName, cloneUrl: repo.url } },
    });
    if (created.statusCode !== 201) throw new Error(`creating the app: ${created.body}`);
    const sha = repo.commit({ Dockerfile: DOCKERFILE, 'hello.txt': 'hello\n' }, 'bench');
    repo.push();
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    const target: Target = { url, secret: created.json().webhookSecret, sha };

    console.log(`pier webhook benchmark: API at ${url}, database ${api.database.name}`);
    console.log('\n1. webhook answer latency (signed push, HTTP on loopback, deployment + outbox written)');
    await measureAnswers(target, 20, 1); // warm-up: connections, JIT, query plans
    printLatency('one at a time', await measureAnswers(target, DELIVERIES, 1));
    printLatency(`${CONCURRENCY} at a time`, await measureAnswers(target, DELIVERIES, CONCURRENCY));

    console.log(`\n2. cached rebuild of one commit (${ROUNDS} rounds; a tiny Dockerfile: COPY + RUN + Pier's labels)`);
    worker = await startTestWorker(api.database, api.box);
    // Builds only: a rollout after each build would compete with the next round for the CPU.
    await (worker.runtime as { deploys?: { close(): Promise<void> } }).deploys?.close();
    // The backlog from phase 1 is relayed; all but the newest deployment are superseded. Building it warms the cache.
    const warm = await deliver(target);
    await buildTimes(api, warm.deploymentId);
    await new GitSourceFetcher({ allowFileUrls: true }).fetch({
      repo: { cloneUrl: repo.url },
      sha,
      directory: checkout,
      maxBytes: 50 * 1024 * 1024,
    });
    await directBuildMs(worker, checkout, sha);

    const pipeline: number[] = [];
    const queued: number[] = [];
    const direct: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const docker = await directBuildMs(worker, checkout, sha);
      const sent = Date.now();
      const { deploymentId } = await deliver(target);
      const times = await buildTimes(api, deploymentId);
      direct.push(docker);
      pipeline.push(times.recorded - sent);
      queued.push(times.claimed - sent);
      console.log(
        `  round ${round}: webhook → image recorded ${ms(times.recorded - sent)}` +
          ` (of which webhook → build claimed ${ms(times.claimed - sent)})` +
          `   docker build alone ${ms(docker)}   overhead ${ms(times.recorded - sent - docker)}`,
      );
    }
    const overheads = pipeline.map((p, i) => p - (direct[i] ?? 0));
    console.log('  median');
    console.log(`    webhook → image recorded (deployment deploying)  ${ms(median(pipeline))}`);
    console.log(`      of which webhook → build claimed by the worker ${ms(median(queued))}`);
    console.log(`    docker build alone (same context, warm cache)    ${ms(median(direct))}`);
    console.log(`    control-plane overhead                           ${ms(median(overheads))}`);

    console.log(`\n3. cached deploy of one commit (${ROUNDS} rounds; 2 replicas; webhook → 100 % of traffic on the new release)`);
    await worker.stop();
    // Phase 2 left its builds undeployed (its deploy consumer was closed): they are cancelled, so that
    // phase 3 measures its own deploys only.
    await api.database.sql`update deployments set state = 'cancelled', finished_at = now()
      where state in ('queued', 'building', 'deploying')`;
    worker = await startTestWorker(api.database, api.box, { reconcileIntervalMs: 5000 });
    const settings = await api.request({
      method: 'PATCH',
      url: `/apps/${appName}/environments/staging`,
      payload: { replicas: 2, drainTimeoutMs: 0, healthCheck: { intervalMs: 500, healthyThreshold: 1 } },
    });
    if (settings.statusCode !== 200) throw new Error(`setting up staging: ${settings.body}`);
    const webSha = repo.commit({ Dockerfile: WEB_DOCKERFILE, 'server.js': SERVER }, 'bench web');
    repo.push();
    const web: Target = { ...target, sha: webSha };
    const webCheckout = await mkdtemp(join(tmpdir(), 'pier-bench-web-'));
    try {
      await new GitSourceFetcher({ allowFileUrls: true }).fetch({
        repo: { cloneUrl: repo.url },
        sha: webSha,
        directory: webCheckout,
        maxBytes: 50 * 1024 * 1024,
      });
      // Warm: the image built and a first release live, so each round replaces two running replicas.
      const first = await deliver(web);
      await trafficSwitched(api, first.deploymentId, 2);
      const deploymentsStore = createStores(api.database.db, api.box).deployments;
      // The newest deployment's image: image retention removes older ones (each build's labels make a new image).
      let imageId = (await deploymentsStore.get(first.deploymentId)).imageId as string;
      const totals: number[] = [];
      const builds: number[] = [];
      const starts: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const docker = await directBuildMs(worker, webCheckout, webSha);
        const start = await directStartMs(worker, imageId);
        const sent = Date.now();
        const { deploymentId } = await deliver(web);
        const total = (await trafficSwitched(api, deploymentId, 2)) - sent;
        imageId = (await deploymentsStore.get(deploymentId)).imageId as string;
        totals.push(total);
        builds.push(docker);
        starts.push(start);
        console.log(
          `  round ${round}: webhook → 100 % on the new release ${ms(total)}   docker build alone ${ms(docker)}` +
            `   app start alone ${ms(start)}   overhead ${ms(total - docker - start)}`,
        );
      }
      const deployOverheads = totals.map((t, i) => t - (builds[i] ?? 0) - (starts[i] ?? 0));
      console.log('  median');
      console.log(`    webhook → 100 % of traffic on the new release    ${ms(median(totals))}`);
      console.log(`    docker build alone (same context, warm cache)    ${ms(median(builds))}`);
      console.log(`    app start alone (run, first 200 on /health)      ${ms(median(starts))}`);
      console.log(`    control-plane overhead                           ${ms(median(deployOverheads))}`);
    } finally {
      await rm(webCheckout, { recursive: true, force: true });
    }
  } finally {
    await worker?.stop();
    if (worker) {
      for (const c of await worker.docker.listContainers({ [LABEL_APP]: appName })) await worker.docker.removeContainer(c.id);
      await worker.docker.removeNetwork(`pier-${appName}-staging`).catch(() => {});
      for (const image of await worker.docker.listImages({ [LABEL_APP]: appName })) {
        await worker.docker.docker
          .getImage(image.imageId)
          .remove({ force: true })
          .catch(() => {});
      }
    }
    await api.close();
    repo.remove();
    await rm(checkout, { recursive: true, force: true });
  }
}

await main();
