import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_APP, LABEL_RELEASE, LABEL_ROLE, SecretBox } from '@pier/core';
import { createStores } from '@pier/db';
import { DockerRuntime, hostFirewallPlan, IptablesFirewall } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAppObjects } from '../builds/build-harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { makeLive } from '../support/live-release.ts';
import {
  exitWithin,
  freePort,
  type RunningProcess,
  scriptCommand,
  signalGroup,
  spawnCollecting,
  startScript,
  waitForHttp,
} from '../support/processes.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';

/**
 * The worker and the api as deploy/systemd/pier-{worker,api}.service run
 * them: not root (here the user nobody); the worker with the docker group and
 * CAP_NET_ADMIN as its only capability, after the unit's `ExecStartPre=+…
 * prepare-host`, which runs as root; the api with neither. The real
 * processes: prepare-host installs the host firewall for the pool; the worker
 * only checks it, refuses to start while a rule is missing (and says what to
 * run), and then starts and collects the logs of this installation's
 * containers into Postgres, from where the api, with no Docker socket at all,
 * answers `GET …/logs`.
 */

const run = randomBytes(3).toString('hex');
const appName = `unpriv-${run}`;
const instance = `pier-unpriv-${run}`;
// A pool of this test's own (a /22 of 10.222.0.0/16), whose rules no other test installs.
const pool = `10.222.${randomInt(0, 64) * 4}.0/22`;
const plan = hostFirewallPlan({ sources: [pool] });
const firewall = new IptablesFirewall();
const NOBODY = 65534;
const dockerGroup = execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2] as string;
const root = mkdtempSync(join(tmpdir(), 'pier-unpriv-'));
const engine = new DockerRuntime();
const secretKey = randomBytes(32);
const adminToken = randomBytes(32).toString('hex');
let database: TestDatabase;
const started: RunningProcess[] = [];

/** A directory of nobody's, as install-service.sh and RuntimeDirectory= make them for pier. */
function ownedByNobody(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o750 });
  chownSync(path, NOBODY, NOBODY);
  return path;
}

function workerEnv(): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: secretKey.toString('base64'),
    PIER_PROXY_KEY: randomBytes(32).toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_IMAGE_NODE: LOCAL_IMAGES.node,
    PIER_IMAGE_PYTHON: LOCAL_IMAGES.python,
    PIER_IMAGE_PROCFILE: LOCAL_IMAGES.procfile,
    PIER_WORK_DIR: join(root, 'work'),
    PIER_BACKUP_DIR: join(root, 'backups'),
    PIER_QUEUE_PREFIX: `pier-unpriv-${run}`,
    PIER_INSTANCE: instance,
    PIER_MIN_FREE_DISK_MB: '100',
    PIER_NETWORK_POOL: pool,
    PIER_NETWORK_SUBNET_SIZE: '24',
  };
}

/** The worker's entry point as nobody, with the unit's credentials: the docker group and, unless `noCapability`, CAP_NET_ADMIN. */
function startUnprivilegedWorker(options: { noCapability?: boolean } = {}): RunningProcess {
  const capability = options.noCapability
    ? ['--inh-caps=-all', '--bounding-set=-all']
    : ['--inh-caps=+net_admin', '--ambient-caps=+net_admin', '--bounding-set=-all,+net_admin'];
  return startAsNobody('apps/worker/src/main.ts', workerEnv(), [`--groups=${dockerGroup}`, ...capability]);
}

/** The api's entry point as nobody with no group, no capability and no Docker socket, as its unit runs it. */
function startUnprivilegedApi(port: number): RunningProcess {
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PIER_SECRET_KEY: secretKey.toString('base64'),
    PIER_BASE_DOMAIN: 'pier.test',
    PIER_LOG_FORMAT: 'json',
    PIER_ADMIN_TOKEN: adminToken,
    PIER_API_HOST: '127.0.0.1',
    PIER_API_PORT: String(port),
    // Were the api to open a Docker socket, this one does not exist.
    PIER_DOCKER_SOCKET: join(root, 'no-docker.sock'),
  };
  return startAsNobody('apps/api/src/main.ts', env, ['--clear-groups', '--inh-caps=-all', '--bounding-set=-all']);
}

/** An entry point of the repository as the user nobody (`credentials`: setpriv's group and capability options). */
function startAsNobody(entry: string, env: Record<string, string>, credentials: string[]): RunningProcess {
  const setpriv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, ...credentials, '--no-new-privs', '--'];
  const proc = spawnCollecting([...setpriv, ...scriptCommand(entry)], { cwd: join(root, 'cwd'), env });
  started.push(proc);
  return proc;
}

/** An app's production environment and a release of it, as a deploy makes them. */
async function newRelease(): Promise<{ environmentId: string; releaseId: string }> {
  const stores = createStores(database.db, new SecretBox(secretKey));
  const app = await stores.apps.create({ name: appName, webhookSecret: 'x'.repeat(40) });
  const environment = await stores.environments.get(app.id, 'production');
  const release = await stores.releases.create({
    environmentId: environment.id,
    imageId: 'sha256:test',
    imageRef: `pier/${appName}:1`,
    config: {},
    configVersion: 0,
    replicas: 1,
    health: { path: '/health', intervalMs: 1000, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 10_000 },
  } as Parameters<typeof stores.releases.create>[0]);
  return { environmentId: environment.id, releaseId: release.id };
}

/** The environment serves one replica, `containerId`, of the release, as a deploy leaves it. */
async function serveReplica(containerId: string, { environmentId, releaseId }: { environmentId: string; releaseId: string }) {
  const stores = createStores(database.db, new SecretBox(secretKey));
  const replica = await stores.replicas.add(environmentId, releaseId, `${appName}-web`);
  await stores.replicas.attach(replica.id, containerId, null);
  await makeLive(database.db, environmentId, releaseId, [replica.id]);
}

async function waitForStart(proc: RunningProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!proc.output().includes('"msg":"worker started"')) {
    if (proc.child.exitCode !== null) throw new Error(`the worker exited:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`the worker did not start:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  chmodSync(root, 0o755);
  for (const name of ['work', 'backups', 'cwd']) ownedByNobody(join(root, name));
}, 60_000);

afterAll(async () => {
  for (const proc of started) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) continue;
    signalGroup(proc, 'SIGTERM');
    await exitWithin(proc, 20_000).catch(() => {
      signalGroup(proc, 'SIGKILL');
      return proc.exited;
    });
  }
  await firewall.removeSources(plan);
  await removeAppObjects(engine, [appName]);
  await database?.destroy();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('the worker and the api as their systemd units run them', () => {
  it('only checks the host firewall: refuses to start while it is missing, and says what to run', async () => {
    expect(await firewall.missing(plan)).not.toEqual([]);
    const worker = startUnprivilegedWorker();
    expect(await exitWithin(worker, 60_000)).toBe(1);
    expect(worker.output()).toMatch(/the host firewall is not in place \(missing: PIER-INPUT: -s 10\.222\./);
    expect(worker.output()).toContain('prepare-host');
    // It added nothing: checking is all it does.
    expect((await firewall.missing(plan)).filter((rule) => !rule.shared).length).toBe(2);
  }, 90_000);

  it('without CAP_NET_ADMIN it cannot check, and refuses to start naming the capability', async () => {
    const worker = startUnprivilegedWorker({ noCapability: true });
    expect(await exitWithin(worker, 60_000)).toBe(1);
    expect(worker.output()).toMatch(/cannot check the host firewall: .*Permission denied.*CAP_NET_ADMIN/);
  }, 90_000);

  it('prepare-host (as root) installs the firewall and the build process limit; then the worker starts and collects logs, which the api serves with no Docker socket', async () => {
    const prepare = startScript('apps/worker/src/main.ts', workerEnv(), ['prepare-host']);
    started.push(prepare);
    expect(await exitWithin(prepare, 60_000), prepare.output()).toBe(0);
    expect(prepare.output()).toContain('"msg":"host firewall installed"');
    expect(prepare.output()).toContain(pool);
    expect(prepare.output()).toMatch(/"msg":"(build process limit set|builds have no process limit)"/);
    expect(await firewall.missing(plan)).toEqual([]);
    // Idempotent.
    const again = startScript('apps/worker/src/main.ts', workerEnv(), ['prepare-host']);
    started.push(again);
    expect(await exitWithin(again, 60_000), again.output()).toBe(0);
    expect(again.output()).toContain('"msg":"host firewall already in place"');

    const worker = startUnprivilegedWorker();
    await waitForStart(worker);
    expect(worker.output()).not.toMatch(/"level":(40|50)/);

    const release = await newRelease();
    const container = await engine.docker.createContainer({
      name: `${appName}-web`,
      Image: LOCAL_IMAGES.procfile,
      Cmd: ['sh', '-c', 'echo hello from the app; sleep 60'],
      // A web replica of this installation: the worker's reconciler keeps it serving, its collector reads it.
      Labels: {
        [LABEL_APP]: appName,
        'pier.instance': instance,
        [LABEL_ROLE]: 'web',
        'pier.process': 'web',
        'pier.environment-id': release.environmentId,
        [LABEL_RELEASE]: release.releaseId,
        'pier.test': '1',
      },
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    await serveReplica(container.id, release);

    // The api as its unit runs it: no docker group, and no Docker socket it could open; it answers from Postgres.
    const apiPort = await freePort();
    const api = startUnprivilegedApi(apiPort);
    await waitForHttp(`http://127.0.0.1:${apiPort}/health`);
    const logsUrl = `http://127.0.0.1:${apiPort}/apps/${appName}/environments/production/logs`;
    const headers = { authorization: `Bearer ${adminToken}` };
    const lines = async () => {
      const answer = await fetch(logsUrl, { headers });
      expect(answer.status).toBe(200);
      return ((await answer.json()) as { lines: unknown[] }).lines;
    };
    await expect.poll(lines, { timeout: 20_000, interval: 250 }).toEqual([
      {
        id: expect.any(Number),
        at: expect.any(String),
        replica: `${appName}-web`,
        process: 'web',
        release: 1,
        stream: 'stdout',
        line: 'hello from the app',
      },
    ]);
    expect(api.output()).not.toMatch(/docker/i);
    signalGroup(api, 'SIGTERM');

    signalGroup(worker, 'SIGTERM');
    expect(await exitWithin(worker, 30_000)).toBe(0);
  }, 180_000);
});
