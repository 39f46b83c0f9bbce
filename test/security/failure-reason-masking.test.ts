import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { createFastApp, removeAppFromDocker, waitForDeployment } from '../support/deploy-app.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * A failed deployment's reason quotes the app's own output: the container's
 * last log lines, or the build's. An app that prints its variables must not
 * get them into the reason (nor the stored log), a multi-line value (a PEM
 * key) neither whole nor line by line.
 */

let api: TestApi;
let worker: TestWorker;
let repo: TestGitRepository;
let secret: string;
const app = `mask-${Date.now().toString(36)}`;
const canary = `canary-${randomBytes(12).toString('hex')}`;
const pemLines = [
  '-----BEGIN PRIVATE KEY-----',
  ...Array.from({ length: 4 }, () => randomBytes(36).toString('base64')),
  '-----END PRIVATE KEY-----',
];
const pem = pemLines.join('\n');
/** Every line an app could print of its secrets: none may be stored. */
const canaryLines = [canary, ...pemLines.slice(1, -1)];

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box);
  repo = new TestGitRepository();
  secret = await createFastApp(api, {
    name: app,
    fullName: 'acme/mask',
    cloneUrl: repo.url,
    replicas: 1,
    drainTimeoutMs: 1000,
    deadlineMs: 5000,
  });
  const set = await api.request({
    method: 'PATCH',
    url: `/apps/${app}/environments/staging/variables`,
    payload: { set: { CANARY: canary, CANARY_PEM: pem } },
  });
  expect(set.statusCode, set.body).toBe(200);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) await removeAppFromDocker(worker.docker, app);
  await api?.close();
  repo?.remove();
});

async function push(files: Record<string, string>, message: string): Promise<string> {
  const sha = repo.commit(files, message);
  repo.push();
  const res = await sendWebhook(api.app, { event: 'push', payload: pushPayload('acme/mask', 'refs/heads/main', sha), secret });
  expect(res.statusCode).toBe(202);
  return res.json().deployments[0].id as string;
}

/** The reason, every stored log line and every event message of the deployment, as one text. */
async function everythingStored(id: string, reason: string): Promise<string> {
  const logs = await api.request({ method: 'GET', url: `/deployments/${id}/logs` });
  expect(logs.statusCode).toBe(200);
  const events = await api.database.sql<{ message: string | null }[]>`
    select message from deployment_events where deployment_id = ${id}`;
  return [reason, ...logs.json().lines.map((l: { line: string }) => l.line), ...events.map((e) => e.message ?? '')].join('\n');
}

function expectNoCanary(text: string): void {
  for (const line of canaryLines) expect(text).not.toContain(line);
}

describe('failure reasons are masked like the stored log', () => {
  it('an app that prints its variables and never gets healthy: the reason quotes its output, masked', async () => {
    const server = `
const http = require('http');
console.log('CANARY=' + process.env.CANARY);
console.log(process.env.CANARY_PEM);
for (const line of process.env.CANARY_PEM.split('\\n')) console.log('  key line: ' + line);
console.log('about to fail my health check');
http.createServer((req, res) => { res.statusCode = 503; res.end('no'); }).listen(process.env.PORT);
`;
    const id = await push(
      {
        Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
        'server.js': server,
      },
      'prints its secrets',
    );
    const done = await waitForDeployment(api, id, ['live', 'failed']);
    expect(done.state).toBe('failed');
    // The container's output is there (so the check below looks at it), with the secrets masked.
    expect(done.reason).toContain('did not pass its health check');
    expect(done.reason).toContain('about to fail my health check');
    expect(done.reason).toContain('CANARY=********');
    expect(done.reason).toContain('key line: ********');
    expectNoCanary(await everythingStored(id, done.reason));
  }, 180_000);

  it('a build that prints them line by line and fails: the reason and the log are masked line by line', async () => {
    // Each line of the key on its own line of output, as a tool that prints a file would.
    const printed = canaryLines.map((line) => `'${line}'`).join(' ');
    const id = await push(
      { Dockerfile: `FROM pier-local/node\nRUN printf '%s\\n' ${printed} && echo build step failing && exit 3\n` },
      'build prints them',
    );
    const done = await waitForDeployment(api, id, ['failed', 'live', 'deploying']);
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('build step failing');
    expectNoCanary(await everythingStored(id, done.reason));
  }, 180_000);
});
