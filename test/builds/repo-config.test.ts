import { randomBytes } from 'node:crypto';
import { LABEL_APP } from '@pier/core';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestFile, TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';
import {
  announcedContainers,
  BUILD_OVER,
  buildLog,
  createApp,
  pushCommit,
  removeAppObjects,
  startBuildWorker,
  waitForState,
} from './build-harness.ts';

/**
 * `pier.json` at the built commit: build settings (a sub-folder Dockerfile
 * and context, a target stage, build arguments) reach the build; an invalid
 * file or a missing required variable stops the deployment before anything
 * is built, naming the field or the variables.
 */

const run = randomBytes(3).toString('hex');
let api: TestApi;
let worker: TestWorker;
const docker = new DockerRuntime();
const repos: TestGitRepository[] = [];
const apps: string[] = [];

beforeAll(async () => {
  api = await createTestApi();
  worker = await startBuildWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await removeAppObjects(docker, apps);
  await api?.close();
  for (const repo of repos) repo.remove();
});

interface TestApp {
  name: string;
  fullName: string;
  secret: string;
  repo: TestGitRepository;
}

async function newApp(kind: string): Promise<TestApp> {
  const name = `rc-${kind}-${run}`;
  const fullName = `acme/${name}`;
  const repo = new TestGitRepository();
  repos.push(repo);
  apps.push(name);
  return { name, fullName, secret: await createApp(api, name, fullName, repo), repo };
}

async function pushAndWait(app: TestApp, files: Record<string, TestFile>) {
  const sha = app.repo.commit(files);
  app.repo.push();
  const id = await pushCommit(api, app.fullName, app.secret, sha);
  const deployment = await waitForState(api, id, BUILD_OVER, 90_000);
  return { id, sha, deployment, log: await buildLog(api, id) };
}

/** The text of `path` inside `image`, read by a throwaway container. */
async function fileInImage(image: string, path: string): Promise<string> {
  const container = await docker.docker.createContainer({
    Image: image,
    Cmd: ['cat', path],
    Labels: { [LABEL_APP]: 'rc-probe' },
  });
  try {
    await container.start();
    await container.wait();
    const output = await container.logs({ stdout: true, stderr: true });
    // Without a TTY the stream is multiplexed: 8-byte frame headers before each chunk.
    let text = '';
    for (let offset = 0; offset + 8 <= output.length; ) {
      const size = output.readUInt32BE(offset + 4);
      text += output.subarray(offset + 8, offset + 8 + size).toString('utf8');
      offset += 8 + size;
    }
    return text;
  } finally {
    await container.remove({ force: true });
  }
}

describe('pier.json', () => {
  it('builds a sub-folder Dockerfile with that folder as context, its target stage and build arguments', async () => {
    const app = await newApp('layout');
    const pierJson = {
      build: { dockerfile: 'services/web/Dockerfile', context: 'services/web', target: 'runtime', args: { GREETING: 'hello' } },
    };
    const { deployment, log } = await pushAndWait(app, {
      'pier.json': JSON.stringify(pierJson),
      // Only the sub-folder as context has page.txt at its root; the stage after `runtime` fails if built.
      'services/web/Dockerfile': [
        'FROM pier-local/debian:bookworm AS runtime',
        'ARG GREETING=unset',
        'COPY page.txt /page.txt',
        'RUN echo "$GREETING" > /greeting',
        'FROM runtime AS broken',
        'RUN exit 7',
        '',
      ].join('\n'),
      'services/web/page.txt': 'from the sub-folder\n',
      'page.txt': 'from the root\n',
    });
    expect(deployment.state, `${deployment.reason}\n${log}`).toBe('deploying');
    expect(log).toContain('read pier.json');
    expect(log).toContain('building with services/web/Dockerfile (context services/web, from pier.json)');
    const image = deployment.image?.id ?? '';
    expect(await fileInImage(image, '/page.txt')).toBe('from the sub-folder\n');
    expect(await fileInImage(image, '/greeting')).toBe('hello\n');
  }, 120_000);

  it('refuses an invalid pier.json before the build, naming the field', async () => {
    const app = await newApp('invalid');
    const { deployment, log } = await pushAndWait(app, {
      'pier.json': JSON.stringify({ port: 'eighty', build: { dockerfile: '../outside/Dockerfile' } }),
      Dockerfile: 'FROM pier-local/debian:bookworm\nRUN echo never-built\n',
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toContain('pier.json.port: Invalid input: expected number, received string');
    expect(deployment.reason).toContain('pier.json.build.dockerfile');
    expect(announcedContainers(log)).toEqual([]);
    expect(log).not.toContain('never-built');
    expect(await docker.listImages({ [LABEL_APP]: app.name })).toEqual([]);
  }, 120_000);

  it('reads pier.json from the path set on the app', async () => {
    const app = await newApp('path');
    const patch = await api.request({ method: 'PATCH', url: `/apps/${app.name}`, payload: { configPath: 'deploy/pier.json' } });
    expect(patch.statusCode, patch.body).toBe(200);
    const { deployment } = await pushAndWait(app, {
      'deploy/pier.json': JSON.stringify({ port: 0 }),
      // At the root, and valid: not the one read.
      'pier.json': '{}',
      Dockerfile: 'FROM pier-local/debian:bookworm\nRUN echo never-built\n',
    });
    expect(deployment.state).toBe('failed');
    expect(deployment.reason).toContain('deploy/pier.json.port: Too small');
  }, 120_000);

  it('refuses a release whose required variables are missing, listing them, and builds once they are set', async () => {
    const app = await newApp('required');
    const files = {
      'pier.json': JSON.stringify({
        requiredVariables: [{ name: 'SECRET_KEY', description: 'signs sessions' }, 'MAIL_FROM', 'PORT'],
        environments: { production: { requiredVariables: ['PRODUCTION_ONLY'] } },
      }),
      Dockerfile: `FROM pier-local/debian:bookworm\nRUN echo built-${run}\n`,
    };
    const first = await pushAndWait(app, files);
    expect(first.deployment.state).toBe('failed');
    expect(first.deployment.reason).toContain(
      `required variables are not set in staging: SECRET_KEY (signs sessions), MAIL_FROM; set them with PATCH /apps/${app.name}/environments/staging/variables`,
    );
    expect(first.log).not.toContain(`built-${run}`);
    const set = await api.request({
      method: 'PATCH',
      url: `/apps/${app.name}/environments/staging/variables`,
      payload: { set: { SECRET_KEY: 's3cret-value', MAIL_FROM: 'ops@example.org' } },
    });
    expect(set.statusCode, set.body).toBe(200);
    const second = await pushAndWait(app, { 'pier.json': files['pier.json'], Dockerfile: `${files.Dockerfile}RUN true\n` });
    expect(second.deployment.state, `${second.deployment.reason}`).toBe('deploying');
  }, 180_000);
});
