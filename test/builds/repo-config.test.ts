import { randomBytes } from 'node:crypto';
import { LABEL_APP } from '@pier/core';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';
import { announcedContainers, BuildTestApps, pushAndWait, startBuildWorker } from './build-harness.ts';

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
const testApps = new BuildTestApps(`rc-${run}`);

beforeAll(async () => {
  api = await createTestApi();
  worker = await startBuildWorker(api);
});

afterAll(async () => {
  await worker?.stop();
  await testApps.remove(docker);
  await api?.close();
});

const newApp = (kind: string) => testApps.create(api, kind);

/** The text of `path` inside `image` (ending with a newline), read by a throwaway container. */
async function fileInImage(image: string, path: string): Promise<string> {
  const container = await docker.docker.createContainer({
    Image: image,
    Cmd: ['cat', path],
    Labels: { [LABEL_APP]: 'rc-probe' },
  });
  try {
    await container.start();
    await container.wait();
    const lines: string[] = [];
    for await (const entry of docker.containerLogs(container.id, {})) lines.push(entry.line);
    return lines.map((line) => `${line}\n`).join('');
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
    const { deployment, log } = await pushAndWait(api, app, {
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
    const { deployment, log } = await pushAndWait(api, app, {
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
    const { deployment } = await pushAndWait(api, app, {
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
    const first = await pushAndWait(api, app, files);
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
    const second = await pushAndWait(api, app, { 'pier.json': files['pier.json'], Dockerfile: `${files.Dockerfile}RUN true\n` });
    expect(second.deployment.state, `${second.deployment.reason}`).toBe('deploying');
  }, 180_000);
});
