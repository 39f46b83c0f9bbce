import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { versionedApp } from '../support/deploy-app.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';
import { exitWithin, signalGroup } from '../support/processes.ts';
import { getViaProxy } from '../support/proxy.ts';
import { buildCli, type CliHarness, type CliRunOptions, expectExit, json, runFile } from './cli-harness.ts';

// The "done means", as a user types it: the bundled `pier` against a real api, worker and proxy.

const run = randomBytes(3).toString('hex');
const app = `cf-${run}`;
/** A second app, named by pier.json in the inference step. */
const otherApp = `cf-${run}-b`;
const database = `cf-${run}-db`;

let stack: PierStack;
let cli: CliHarness;
let repo: TestGitRepository;

/** The versioned test app, logging each request it serves (for `logs -f`). */
function loggingApp(version: string, healthStatus = 200): Record<string, string> {
  const files = versionedApp(version, healthStatus);
  return {
    ...files,
    'server.js': (files['server.js'] as string).replace(
      'const server = http.createServer((req, res) => {',
      "const server = http.createServer((req, res) => {\n  console.log('served ' + req.url);",
    ),
  };
}

function pier(args: string[], options: CliRunOptions = {}) {
  return cli.run(args, { timeoutMs: 60_000, ...options });
}

/** A command on the flow's app (staging unless `-e` is given). */
function onApp(args: string[], options: CliRunOptions = {}) {
  // Before `--`: what follows it is the command of `pier run`.
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  return pier([...args.slice(0, end), '--app', app, ...args.slice(end)], options);
}

async function call(route: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(stack.apiUrl + route, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${stack.adminToken}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

/** The generated hostname: `<app>.pier.test` for production, `<app>-<env>.pier.test` for the others. */
const hostOf = (env: string) => (env === 'production' ? `${app}.pier.test` : `${app}-${env}.pier.test`);

/** Waits until the proxy answers `expected` for the environment's generated hostname. */
async function proxyAnswers(env: string, expected: string, timeoutMs = 20_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const answer = await getViaProxy(stack.proxy.httpPort, hostOf(env)).catch((e: Error) => e.message);
        return typeof answer === 'string' ? answer : answer.body;
      },
      { timeout: timeoutMs, interval: 300 },
    )
    .toBe(expected);
}

/** Fast rollouts: health polled every 500 ms, one good answer enough, a failing one given up after 8 s. */
const FAST = {
  replicas: 1,
  drainTimeoutMs: 1000,
  healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 8000 },
};

beforeAll(async () => {
  [stack, cli] = await Promise.all([startPierStack(), buildCli()]);
  repo = new TestGitRepository();
}, 180_000);

afterAll(async () => {
  await stack?.stop([app, otherApp]);
  const docker = new DockerRuntime();
  await docker.removeNetwork(`pier-${app}-production`).catch(() => {});
  await docker.removeNetwork(`pier-svc-${database}`).catch(() => {});
  const volumes = (await docker.docker.listVolumes().catch(() => ({ Volumes: [] }))).Volumes ?? [];
  for (const volume of volumes) {
    if (volume.Name.startsWith(`pier-svc-${database}-`)) await docker.removeVolume(volume.Name).catch(() => {});
  }
  repo?.remove();
  cli?.remove();
}, 120_000);

describe('pier, from login to a promoted, linked, scaled app', () => {
  it('logs in with a token from PIER_TOKEN', async () => {
    const login = await pier(['login', stack.apiUrl], { env: { PIER_TOKEN: stack.adminToken } });
    expectExit(login, 0);
    expect(login.stdout + login.stderr).not.toContain(stack.adminToken);
    const who = await pier(['whoami', '--json']);
    expectExit(who, 0);
    expect(json(who)).toMatchObject({ role: 'admin' });
  });

  it('creates the app from its repository', async () => {
    repo.commit(loggingApp('v1'), 'v1');
    repo.push();
    const created = await pier(['apps', 'create', app, '--repo', `acme/${app}`, '--clone-url', repo.url, '--json']);
    expectExit(created, 0);
    const body = json(created);
    expect(body.name).toBe(app);
    expect(body.webhookSecret).toEqual(expect.any(String));
    const stored = await call(`/apps/${app}`);
    expect(stored.status).toBe(200);
    expect(stored.json.repository).toMatchObject({ fullName: `acme/${app}`, cloneUrl: repo.url });

    const listed = await pier(['apps', '--json']);
    expectExit(listed, 0);
    expect(json(listed).apps.map((a: { name: string }) => a.name)).toContain(app);

    const fast = await call(`/apps/${app}/environments/staging`, { method: 'PATCH', body: FAST });
    expect(fast.status, fast.text).toBe(200);
  });

  it('sets variables from arguments and from a .env file, hiding values unless revealed', async () => {
    const set = await onApp(['env', 'set', 'A=1', 'B=two words', '--json']);
    expectExit(set, 0);
    expect(json(set).set.sort()).toEqual(['A', 'B']);

    const file = join(cli.home, 'flow.env');
    writeFileSync(
      file,
      [
        '# settings for the flow',
        '',
        "export C='single $NOT_EXPANDED'",
        'D="line one\\nline \\"two\\""',
        'E=',
        '  F=spaced  ',
        '',
      ].join('\n'),
    );
    expectExit(await onApp(['env', 'import', file]), 0);

    const expected = {
      A: '1',
      B: 'two words',
      C: 'single $NOT_EXPANDED',
      D: 'line one\nline "two"',
      E: '',
      F: 'spaced',
    };
    const revealed = await onApp(['env', '--reveal', '--json']);
    expectExit(revealed, 0);
    const values = Object.fromEntries(json(revealed).variables.map((v: { key: string; value: string }) => [v.key, v.value]));
    expect(values).toEqual(expected);
    const stored = await call(`/apps/${app}/environments/staging/variables?reveal=true`);
    expect(Object.fromEntries(stored.json.variables.map((v: { key: string; value: string }) => [v.key, v.value]))).toEqual(
      expected,
    );

    const hidden = await onApp(['env']);
    expectExit(hidden, 0);
    for (const key of Object.keys(expected)) expect(hidden.stdout).toMatch(new RegExp(`^${key}\\s`, 'm'));
    expect(hidden.stdout).not.toContain('two words');
    expect(hidden.stdout).not.toContain('NOT_EXPANDED');

    // A line the parser cannot read sends nothing.
    writeFileSync(file, 'G=1\nthis is not a variable\n');
    const bad = await onApp(['env', 'import', file]);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('line 2');
    const after = await call(`/apps/${app}/environments/staging/variables`);
    expect(after.json.variables.map((v: { key: string }) => v.key)).not.toContain('G');
  });

  it('deploys the branch, streaming the build, and the app answers through the proxy', async () => {
    const deployed = await onApp(['deploy'], { timeoutMs: 180_000 });
    expectExit(deployed, 0);
    // The build's own output, streamed on stdout.
    expect(deployed.stdout).toContain('pier-local/node');
    expect(deployed.stdout.split('\n').length).toBeGreaterThan(3);
    expect(deployed.stdout + deployed.stderr).toContain(`https://${app}-staging.pier.test`);
    await proxyAnswers('staging', 'v1');
  }, 200_000);

  it('deploys a second version, then fails a third whose health check fails, with exit 5 and the reason', async () => {
    repo.commit(loggingApp('v2'), 'v2');
    repo.push();
    // --json: nothing while it follows, then the final deployment only.
    const second = await onApp(['deploy', '--json'], { timeoutMs: 180_000 });
    expectExit(second, 0);
    const live = json(second);
    expect(live).toMatchObject({ app, environment: 'staging', state: 'live' });
    expect((await call(`/deployments/${live.id}`)).json.state).toBe('live');
    await proxyAnswers('staging', 'v2');

    repo.commit(loggingApp('v3', 500), 'v3 with a failing health check');
    repo.push();
    const failed = await onApp(['deploy'], { timeoutMs: 180_000 });
    expectExit(failed, 5);
    const match = /deployment ([0-9a-f-]{36}) failed: (.+)/.exec(failed.stderr);
    expect(match, failed.stderr).not.toBeNull();
    const deployment = await call(`/deployments/${match?.[1]}`);
    expect(deployment.json.state).toBe('failed');
    expect(deployment.json.reason).toBeTruthy();
    expect(failed.stderr).toContain(String(deployment.json.reason).split('\n')[0]);
    // The live version keeps serving.
    await proxyAnswers('staging', 'v2');
  }, 400_000);

  it('follows the logs until Ctrl-C', async () => {
    const follower = cli.start(['logs', '-f', '--app', app]);
    try {
      const marker = `/flow-${run}`;
      await expect
        .poll(
          async () => {
            await getViaProxy(stack.proxy.httpPort, hostOf('staging'), marker).catch(() => {});
            return follower.output().includes(`served ${marker}`);
          },
          { timeout: 45_000, interval: 1000 },
        )
        .toBe(true);
      signalGroup(follower, 'SIGINT');
      expect(await exitWithin(follower, 10_000)).toBe(0);
    } finally {
      if (follower.child.exitCode === null) signalGroup(follower, 'SIGKILL');
    }
  }, 60_000);

  it('rolls back to the release before the live one', async () => {
    const rolled = await onApp(['rollback', '--json'], { timeoutMs: 120_000 });
    expectExit(rolled, 0);
    expect(json(rolled)).toMatchObject({ trigger: 'rollback', state: 'live' });
    await proxyAnswers('staging', 'v1');
  }, 150_000);

  it('promotes staging’s live release to production', async () => {
    const environments = await call(`/apps/${app}/environments`);
    const exists = environments.json.environments.some((e: { name: string }) => e.name === 'production');
    const fast = exists
      ? await call(`/apps/${app}/environments/production`, { method: 'PATCH', body: FAST })
      : await call(`/apps/${app}/environments`, { method: 'POST', body: { name: 'production', ...FAST } });
    expect(fast.status, fast.text).toBe(exists ? 200 : 201);
    // Without --yes and without a terminal, production is not changed.
    const unconfirmed = await onApp(['promote']);
    expectExit(unconfirmed, 2);
    expect((await call(`/apps/${app}/environments/production/status`)).json.liveRelease).toBeNull();

    const promoted = await onApp(['promote', '--yes', '--json'], { timeoutMs: 120_000 });
    expectExit(promoted, 0);
    const body = json(promoted);
    expect(body).toHaveProperty('differences');
    expect(body.deployment.state).toBe('live');
    await proxyAnswers('production', 'v1');
    const status = await call(`/apps/${app}/environments/production/status`);
    expect(status.json.liveRelease).not.toBeNull();
  }, 150_000);

  it('scales web to two replicas', async () => {
    const scaled = await onApp(['scale', 'web=2', '--json']);
    expectExit(scaled, 0);
    const bad = await onApp(['scale', 'web=many']);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('web=many');
    await expect
      .poll(
        async () => {
          const status = await onApp(['status', '--json']);
          expectExit(status, 0);
          const web = json(status).processes.find((p: { type: string }) => p.type === 'web');
          return `${web?.replicas}/${web?.running}`;
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe('2/2');
    const ps = await onApp(['ps', '--json']);
    expectExit(ps, 0);
    expect(json(ps).replicas.filter((r: { state: string }) => r.state === 'serving')).toHaveLength(2);
  }, 90_000);

  it('runs a one-off command and exits with its exit code', async () => {
    const result = await onApp(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 120_000 });
    expectExit(result, 3);
    expect(result.stdout).toContain('out');
    expect(result.stdout).not.toContain('err');
    expect(result.stderr).toContain('err');
  }, 150_000);

  it('creates a postgres service and links it: DATABASE_URL is injected', async () => {
    const created = await pier(['services', 'create', database, '--type', 'postgres', '--json'], { timeoutMs: 180_000 });
    expectExit(created, 0);
    expect(json(created).name).toBe(database);
    expect((await call(`/services/${database}`)).json.state).toBe('ready');

    const linked = await onApp(['services', 'link', database, '--json'], { timeoutMs: 180_000 });
    expectExit(linked, 0);
    expect(json(linked).variables).toContain('DATABASE_URL');

    const listed = await onApp(['env']);
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(new RegExp(`^DATABASE_URL\\s.*${database}`, 'm'));
    // The injected names are part of the answer for scripts too, not only of the table.
    const listedJson = await onApp(['env', '--json']);
    expectExit(listedJson, 0);
    expect(JSON.stringify(json(listedJson))).toContain('DATABASE_URL');
    const links = await call(`/apps/${app}/environments/staging/links`);
    expect(links.json.links.map((l: { service: string }) => l.service)).toEqual([database]);
  }, 400_000);

  it('adds a custom domain and prints the DNS records to create', async () => {
    const hostname = `${app}.example.test`;
    const added = await onApp(['domains', 'add', hostname]);
    expectExit(added, 0);
    // The record to create: the custom name pointing at the environment's generated one.
    expect(added.stdout).toMatch(
      new RegExp(`^CNAME\\s+${hostname.replaceAll('.', '\\.')}\\s+${app}-staging\\.pier\\.test$`, 'm'),
    );
    // example.test never resolves: said, but not a failure.
    expect(added.stderr).toContain('does not resolve');

    const second = `www.${hostname}`;
    const addedJson = await onApp(['domains', 'add', second, '--json']);
    expectExit(addedJson, 0);
    expect(json(addedJson).domain.hostname).toBe(second);
    const domains = await call(`/apps/${app}/environments/staging/domains`);
    expect(domains.json.domains.map((d: { hostname: string }) => d.hostname).sort()).toEqual([hostname, second]);
  });

  it('finds the app from the git remote of a clone, and from pier.json first', async () => {
    const created = await call('/apps', {
      method: 'POST',
      body: { name: otherApp, repository: { fullName: `acme/${otherApp}`, cloneUrl: repo.url } },
    });
    expect(created.status, created.text).toBe(201);
    const clone = join(cli.home, 'clone');
    mkdirSync(join(clone, 'src'), { recursive: true });
    const git = (...args: string[]) =>
      runFile(['git', ...args], { cwd: clone, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cli.home } });
    expectExit(await git('init', '--quiet'), 0);
    expectExit(await git('remote', 'add', 'origin', `https://github.com/acme/${app}.git`), 0);

    const inferred = await pier(['status', '--json'], { cwd: join(clone, 'src') });
    expectExit(inferred, 0);
    expect(json(inferred)).toMatchObject({ app, environment: 'staging' });
    expect(inferred.stderr).toContain(`app ${app}`);
    expect(inferred.stderr).toContain('git remote origin');

    writeFileSync(join(clone, 'pier.json'), JSON.stringify({ app: otherApp }));
    const fromFile = await pier(['status', '--json'], { cwd: join(clone, 'src') });
    expectExit(fromFile, 0);
    expect(json(fromFile)).toMatchObject({ app: otherApp, environment: 'staging' });
    expect(fromFile.stderr).toContain(`app ${otherApp}`);
    expect(fromFile.stderr).toContain('pier.json');
  });
});
