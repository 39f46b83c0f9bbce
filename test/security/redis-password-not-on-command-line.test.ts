import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { removeServicesFromDocker } from '../support/services.ts';
import { startTestWorker, type TestWorker } from '../support/worker.ts';

/**
 * A managed Redis's password is never on a command line: not in the
 * container's Cmd or Env (`docker inspect`), not in any process's argv (the
 * host's `ps`, /proc/<pid>/cmdline, readable by every user), nor in the
 * commands Pier runs in it. It is in a 0600 file of user redis.
 */

let api: TestApi;
let worker: TestWorker;
const run = randomBytes(3).toString('hex');
const cache = `pw-${run}`;
let password: string;
let containerId: string;

beforeAll(async () => {
  api = await createTestApi();
  worker = await startTestWorker(api.database, api.box);
  const created = await api.request({ method: 'POST', url: '/services', payload: { type: 'redis', name: cache } });
  expect(created.statusCode, created.body).toBe(202);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const shown = (await api.request({ method: 'GET', url: `/services/${cache}` })).json();
    if (shown.state === 'ready') break;
    if (shown.state === 'failed' || Date.now() > deadline)
      throw new Error(`service ${cache} is ${shown.state}: ${shown.lastError}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  password = (await api.request({ method: 'GET', url: `/services/${cache}?reveal=true` })).json().connection.password;
  const [container] = await worker.docker.listContainers({
    'pier.app': '@services',
    'pier.instance': worker.prefix,
    'pier.role': 'service',
  });
  containerId = container?.id as string;
}, 150_000);

afterAll(async () => {
  await worker?.stop();
  if (worker) {
    await removeServicesFromDocker(worker, [cache]);
  }
  await api?.close();
}, 60_000);

describe("a managed Redis's password", () => {
  it('is in neither the Cmd, the Args nor the Env docker inspect shows', async () => {
    expect(password).toHaveLength(32);
    const inspected = await worker.docker.docker.getContainer(containerId).inspect();
    const shown = JSON.stringify({
      path: inspected.Path,
      args: inspected.Args,
      cmd: inspected.Config.Cmd,
      entrypoint: inspected.Config.Entrypoint,
      env: inspected.Config.Env,
      labels: inspected.Config.Labels,
    });
    expect(shown).toContain('redis-server');
    expect(shown).not.toContain(password);
  });

  it("is in no process's command line, seen from the host and from inside the container", async () => {
    const top = await worker.docker.docker.getContainer(containerId).top({ ps_args: '-eo pid,args' });
    const commands = top.Processes.map((row: string[]) => row.join(' ')).join('\n');
    expect(commands).toContain('redis-server');
    expect(commands).not.toContain(password);
    const inside = await worker.docker.exec(containerId, ['sh', '-c', "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]);
    expect(inside.stdout).toContain('redis-server');
    expect(inside.stdout).not.toContain(password);
    // The server's own environment has none either (the file is all it reads).
    const environ = await worker.docker.exec(containerId, ['sh', '-c', "cat /proc/[0-9]*/environ | tr '\\0' '\\n'"]);
    expect(environ.stdout).not.toContain(password);
  });

  it('is enforced, from a 0600 file of user redis', async () => {
    const file = await worker.docker.exec(containerId, ['stat', '-c', '%a %U', '/data/pier-auth.conf']);
    expect(file.stdout.trim()).toBe('600 redis');
    const anonymous = await worker.docker.exec(containerId, ['redis-cli', '-h', '127.0.0.1', 'PING']);
    expect(anonymous.stdout).toMatch(/NOAUTH/);
    const authenticated = await worker.docker.exec(containerId, ['redis-cli', '-h', '127.0.0.1', '--no-auth-warning', 'PING'], {
      env: { REDISCLI_AUTH: password },
    });
    expect(authenticated.stdout.trim()).toBe('PONG');
  });
});
