import { LABEL_APP } from '@pier/core';
import type { DockerRuntime } from '@pier/docker';
import type Dockerode from 'dockerode';
import { expect } from 'vitest';
import { type TestFile, TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import type { TestApi } from '../support/api.ts';
import { waitForHttp } from '../support/processes.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker, type TestWorkerOptions } from '../support/worker.ts';

/** A deployment as `GET /deployments/:id` shows it. */
export interface DeploymentView {
  id: string;
  state: string;
  reason: string | null;
  commit: string | null;
  image: { id: string; tag: string | null } | null;
  buildStartedAt: string | null;
  buildFinishedAt: string | null;
  events?: { from: string | null; to: string; message: string | null }[];
}

/** States in which the build phase is over: `deploying` means the image is recorded. */
export const BUILD_OVER = ['deploying', 'live', 'failed', 'cancelled', 'superseded'];

/**
 * The real worker loops, building only: its deploy consumer (when it has one)
 * is stopped, so that a built deployment stays `deploying` and these tests see
 * the build phase alone, without rollouts starting containers meanwhile.
 */
export async function startBuildWorker(api: TestApi, options: TestWorkerOptions = {}): Promise<TestWorker> {
  const worker = await startTestWorker(api.database, api.box, options);
  await (worker.runtime as { deploys?: { close(): Promise<void> } }).deploys?.close();
  return worker;
}

/** The build ended with an image: the deployment moved from building to deploying with the image recorded. */
export function expectBuilt(deployment: DeploymentView, tag: string): void {
  const built = deployment.events?.find((e) => e.from === 'building' && e.to === 'deploying');
  expect(built?.message, deployment.reason ?? deployment.state).toBe(`built ${tag}`);
  expect(deployment.image?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(deployment.image?.tag).toBe(tag);
  expect(deployment.buildFinishedAt).not.toBeNull();
}

/** A tiny image: the shared base image plus one RUN step, seconds to build. */
export function tinyDockerfile(marker: string, extra = ''): string {
  return `FROM pier-local/debian:bookworm\nRUN echo ${marker}${extra}\n`;
}

/** Creates an app for `repo` (matched on `fullName`) and returns its webhook secret. */
export async function createApp(api: TestApi, name: string, fullName: string, repo: TestGitRepository): Promise<string> {
  const res = await api.request({
    method: 'POST',
    url: '/apps',
    payload: { name, repository: { fullName, cloneUrl: repo.url } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().webhookSecret;
}

/** Sends a signed push of `sha` to `main` and returns the id of the one deployment it queued. */
export async function pushCommit(api: TestApi, fullName: string, secret: string, sha: string): Promise<string> {
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload(fullName, 'refs/heads/main', sha), secret });
  expect(res.statusCode, res.body).toBe(202);
  const deployments = res.json().deployments as { id: string }[];
  expect(deployments).toHaveLength(1);
  return deployments[0]?.id ?? '';
}

export async function getDeployment(api: TestApi, id: string): Promise<DeploymentView> {
  const res = await api.request({ method: 'GET', url: `/deployments/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Polls the API until the deployment is in one of `states`. */
export async function waitForState(api: TestApi, id: string, states: string[], timeoutMs = 120_000): Promise<DeploymentView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deployment = await getDeployment(api, id);
    if (states.includes(deployment.state)) return deployment;
    if (Date.now() > deadline) {
      const log = await buildLog(api, id);
      throw new Error(`deployment ${id} is still ${deployment.state} after ${timeoutMs} ms; log:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The stored build log as text, one line per stored line. */
export async function buildLog(api: TestApi, id: string): Promise<string> {
  const res = await api.request({ method: 'GET', url: `/deployments/${id}/logs` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().lines as { line: string }[]).map((l) => l.line).join('\n');
}

/** Ids of the containers the classic builder announced (` ---> Running in <id>`). */
export function announcedContainers(log: string): string[] {
  return [...log.matchAll(/^ ---> Running in ([0-9a-f]{12,64})$/gm)].map((m) => m[1] ?? '');
}

/** Containers (any state) whose command line contains `text`: a build step's, or a test run's. */
export async function containersWithCommand(docker: DockerRuntime, text: string): Promise<Dockerode.ContainerInfo[]> {
  const all = await docker.docker.listContainers({ all: true });
  return all.filter((c) => c.Command.includes(text));
}

/** True when the Engine still knows the container (a prefix of its id is enough). */
export async function containerExists(docker: DockerRuntime, id: string): Promise<boolean> {
  try {
    await docker.docker.getContainer(id).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Removes every image and container labelled with one of the apps. */
export async function removeAppObjects(docker: DockerRuntime, appNames: string[]): Promise<void> {
  for (const app of appNames) {
    const containers = await docker.docker.listContainers({ all: true, filters: { label: [`${LABEL_APP}=${app}`] } });
    for (const c of containers)
      await docker.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    for (const image of await docker.listImages({ [LABEL_APP]: app })) {
      await docker.docker
        .getImage(image.imageId)
        .remove({ force: true })
        .catch(() => {});
    }
    // A build that reached `deploying` may have been rolled out onto the environment's network.
    const networks = await docker.docker.listNetworks({ filters: { label: [`${LABEL_APP}=${app}`] } });
    for (const network of networks)
      await docker.docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => {});
  }
}

/**
 * Runs `image` with PORT set, publishes that port on 127.0.0.1 only, and
 * returns the body of `GET /` once it answers 200. The container is removed
 * whatever happens.
 */
export async function answerOf(docker: DockerRuntime, image: string, appName: string, port = 8080): Promise<string> {
  const container = await docker.docker.createContainer({
    Image: image,
    Env: [`PORT=${port}`],
    Labels: { [LABEL_APP]: appName, 'pier.role': 'test-run' },
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: {
      PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      Memory: 256 * 1024 * 1024,
      PidsLimit: 128,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
    },
  });
  try {
    await container.start();
    const info = await container.inspect();
    const hostPort = info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
    if (!hostPort) throw new Error(`port ${port} of ${image} was not published`);
    const res = await waitForHttp(`http://127.0.0.1:${hostPort}/`, 200, 30_000);
    return await res.text();
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** An app of a build test: created through the API, with a repository of its own. */
export interface BuildTestApp {
  name: string;
  fullName: string;
  secret: string;
  repo: TestGitRepository;
}

/** The apps one test file creates (named `<prefix>-<kind>`), removed from Docker and disk together. */
export class BuildTestApps {
  readonly #apps: BuildTestApp[] = [];

  constructor(private readonly prefix: string) {}

  /** Creates `<prefix>-<kind>` with a new repository; `configure` runs before anything is pushed. */
  async create(api: TestApi, kind: string, configure?: (name: string) => Promise<void>): Promise<BuildTestApp> {
    const name = `${this.prefix}-${kind}`;
    const fullName = `acme/${name}`;
    const repo = new TestGitRepository();
    const app = { name, fullName, repo, secret: '' };
    this.#apps.push(app);
    app.secret = await createApp(api, name, fullName, repo);
    await configure?.(name);
    return app;
  }

  async remove(docker: DockerRuntime): Promise<void> {
    await removeAppObjects(
      docker,
      this.#apps.map((a) => a.name),
    );
    for (const app of this.#apps) app.repo.remove();
  }
}

/** A build pushed and finished: its deployment as the API shows it, and its stored log. */
export interface PushedBuild {
  id: string;
  sha: string;
  deployment: DeploymentView;
  log: string;
}

/**
 * Commits `files` to the app's repository, sends the signed push, and waits
 * until the build is over; `whileBuilding` runs once the push is queued.
 */
export async function pushAndWait(
  api: TestApi,
  app: BuildTestApp,
  files: Record<string, TestFile>,
  options: { timeoutMs?: number; message?: string; whileBuilding?: (name: string) => Promise<void> } = {},
): Promise<PushedBuild> {
  const sha = app.repo.commit(files, options.message);
  app.repo.push();
  const id = await pushCommit(api, app.fullName, app.secret, sha);
  await options.whileBuilding?.(app.name);
  const deployment = await waitForState(api, id, BUILD_OVER, options.timeoutMs ?? 90_000);
  return { id, sha, deployment, log: await buildLog(api, id) };
}
