import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';
import { exitWithin, signalGroup } from '../support/processes.ts';
import { getViaProxy } from '../support/proxy.ts';
import {
  apiCaller,
  type CliHarness,
  type CliRunOptions,
  expectExit,
  json,
  jsonLines,
  loggingApp,
  okJson,
  proxyAnswers,
  removeDockerLeftovers,
  runFile,
  stopIfRunning,
  waitUntilLive,
  withCli,
} from './cli-harness.ts';

// The "done means", as a user types it: the bundled `pier` against a real api, worker and proxy.

const run = randomBytes(3).toString('hex');
const app = `cf-${run}`;
/** A second app, named by pier.json in the inference step. */
const otherApp = `cf-${run}-b`;
const database = `cf-${run}-db`;
/** Values set on the app: none may show in an answer that names variables only. */
const SECRET_VALUES = ['two words', 'NOT_EXPANDED', 'line one', 'spaced', `prod-${run}`, `greet-${run}`];

let stack: PierStack;
let cli: CliHarness;
let repo: TestGitRepository;
let call: ReturnType<typeof apiCaller>;

/** A command on the flow's app (staging unless `-e` is given). */
function onApp(args: string[], options: CliRunOptions = {}) {
  // Before `--`: what follows it is the command of `pier run`.
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  return cli.run([...args.slice(0, end), '--app', app, ...args.slice(end)], options);
}

/** The generated hostname: `<app>.pier.test` for production, `<app>-<env>.pier.test` for the others. */
const hostOf = (env: string) => (env === 'production' ? `${app}.pier.test` : `${app}-${env}.pier.test`);
const answers = (env: string, expected: string) => proxyAnswers(stack.proxy.httpPort, hostOf(env), expected, 65_000);

/** Quick health polling, one good answer enough; 30 s for a good replica on a loaded machine. */
const FAST = {
  replicas: 1,
  drainTimeoutMs: 1000,
  healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 30_000 },
};

beforeAll(async () => {
  [stack, cli] = await withCli(startPierStack());
  call = apiCaller(stack.apiUrl, stack.adminToken);
  repo = new TestGitRepository();
}, 180_000);

afterAll(async () => {
  try {
    await stack?.stop([app, otherApp]);
  } finally {
    await removeDockerLeftovers([`pier-${app}-production`, `pier-svc-${database}`], `pier-svc-${database}-`);
    repo?.remove();
    cli?.remove();
  }
}, 120_000);

describe('pier, from login to a promoted, linked, scaled app', () => {
  it('logs in with a token from PIER_TOKEN', async () => {
    const login = await cli.run(['login', stack.apiUrl, '--json'], { env: { PIER_TOKEN: stack.adminToken } });
    expectExit(login, 0);
    expect(json(login)).toMatchObject({ role: 'admin', app: null });
    expect(login.stdout + login.stderr).not.toContain(stack.adminToken);
    expect(okJson(await cli.run(['whoami', '--json']))).toMatchObject({ role: 'admin' });
  }, 60_000);

  it('creates the app from its repository', async () => {
    repo.commit(loggingApp('v1'), 'v1');
    repo.push();
    const created = await cli.run(['apps', 'create', app, '--repo', `acme/${app}`, '--clone-url', repo.url, '--json']);
    expectExit(created, 0);
    expect(json(created)).toMatchObject({ name: app, webhookSecret: expect.any(String) });
    const stored = await call(`/apps/${app}`);
    expect(stored.status).toBe(200);
    expect(stored.json.repository).toMatchObject({ fullName: `acme/${app}`, cloneUrl: repo.url });

    expect(okJson(await cli.run(['apps', '--json'])).apps.map((a: { name: string }) => a.name)).toContain(app);

    const fast = await call(`/apps/${app}/environments/staging`, { method: 'PATCH', body: FAST });
    expect(fast.status, fast.text).toBe(200);
  }, 120_000);

  it('sets variables from arguments and from a .env file, hiding values unless revealed', async () => {
    const set = await onApp(['env', 'set', 'A=1', 'B=two words', '--json']);
    expectExit(set, 0);
    // Nothing deployed yet: no redeploy.
    expect(json(set)).toMatchObject({ unset: [], deployment: null });
    expect(json(set).set.sort()).toEqual(['A', 'B']);

    const file = join(cli.home, 'flow.env');
    const dotenv = [
      '# settings',
      '',
      "export C='single $NOT_EXPANDED'",
      'D="line one\\nline \\"two\\""',
      'E=',
      '  F=spaced  ',
      '',
    ];
    writeFileSync(file, dotenv.join('\n'));
    const imported = okJson(await onApp(['env', 'import', file, '--json']));
    expect(imported.set.sort()).toEqual(['C', 'D', 'E', 'F']);
    expect(imported.deployment).toBeNull();

    const expected = { A: '1', B: 'two words', C: 'single $NOT_EXPANDED', D: 'line one\nline "two"', E: '', F: 'spaced' };
    const valuesOf = (list: { key: string; value: string }[]) => Object.fromEntries(list.map((v) => [v.key, v.value]));
    expect(valuesOf(okJson(await onApp(['env', '--reveal', '--json'])).variables)).toEqual(expected);
    const stored = await call(`/apps/${app}/environments/staging/variables?reveal=true`);
    expect(valuesOf(stored.json.variables)).toEqual(expected);

    const hidden = await onApp(['env']);
    expectExit(hidden, 0);
    for (const key of Object.keys(expected)) expect(hidden.stdout).toMatch(new RegExp(`^${key}\\s`, 'm'));
    for (const value of SECRET_VALUES) expect(hidden.stdout).not.toContain(value);

    // A line the parser cannot read sends nothing.
    writeFileSync(file, 'G=1\nthis is not a variable\n');
    const bad = await onApp(['env', 'import', file]);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('line 2');
    const after = await call(`/apps/${app}/environments/staging/variables`);
    expect(after.json.variables.map((v: { key: string }) => v.key)).not.toContain('G');
  }, 120_000);

  it('deploys the branch, streaming the build while it runs, and the app answers through the proxy', async () => {
    // A build step of its own (uncached) that takes a few seconds: its first lines must show before it ends.
    repo.commit(loggingApp('v1', 200, `RUN echo build-${run} && sleep 5`), 'v1, slow build');
    repo.push();
    const deploy = cli.start(['deploy', '--app', app]);
    try {
      await expect.poll(() => deploy.stdout().includes('pier-local/node'), { timeout: 150_000, interval: 100 }).toBe(true);
      expect(deploy.child.exitCode, deploy.output()).toBeNull();
      const id = /deployment ([0-9a-f-]{36})/.exec(deploy.stderr())?.[1];
      expect(id, deploy.output()).toBeDefined();
      expect((await call(`/deployments/${id}`)).json.state).toBe('building');
      expect(await exitWithin(deploy, 180_000), deploy.output()).toBe(0);
      expect(deploy.stdout()).toContain(`build-${run}`);
      expect(deploy.stdout()).toContain(`https://${app}-staging.pier.test`);
      expect((await call(`/deployments/${id}`)).json.state).toBe('live');
    } finally {
      stopIfRunning(deploy);
    }
    await answers('staging', 'v1');
  }, 240_000);

  it('deploys a second version, then fails a third whose health check fails, with exit 5 and the reason', async () => {
    repo.commit(loggingApp('v2'), 'v2');
    repo.push();
    // --json: nothing while it follows, then the final deployment only.
    const second = await onApp(['deploy', '--json'], { timeoutMs: 180_000 });
    expectExit(second, 0);
    const live = json(second);
    expect(live).toMatchObject({ app, environment: 'staging', state: 'live', trigger: expect.any(String) });
    expect((await call(`/deployments/${live.id}`)).json.state).toBe('live');
    await answers('staging', 'v2');

    // This commit's pier.json gives its replicas 8 s (not the environment's 30 s) to pass.
    repo.commit({ ...loggingApp('v3', 500), 'pier.json': JSON.stringify({ healthCheck: { deadlineSeconds: 8 } }) }, 'v3');
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
    await answers('staging', 'v2');
  }, 400_000);

  it('reads and follows the logs as JSON until Ctrl-C', async () => {
    const marker = `/flow-${run}`;
    const follower = cli.start(['logs', '-f', '--json', '--app', app]);
    try {
      const served = () => jsonLines(follower.stdout()).find((l) => String(l.line).includes(`served ${marker}`));
      await expect
        .poll(
          async () => {
            await getViaProxy(stack.proxy.httpPort, hostOf('staging'), marker).catch(() => {});
            return served() !== undefined;
          },
          { timeout: 60_000, interval: 1000 },
        )
        .toBe(true);
      expect(served()).toMatchObject({ process: 'web', stream: 'stdout', replica: expect.any(String) });
      signalGroup(follower, 'SIGINT');
      expect(await exitWithin(follower, 10_000)).toBe(0);
    } finally {
      stopIfRunning(follower);
    }
    const grep = await onApp(['logs', '--grep', marker, '--json']);
    expectExit(grep, 0);
    const { lines } = json(grep);
    expect(lines.map((l: { line: string }) => l.line)).toContain(`served ${marker}`);
    for (const line of lines) expect(line.line).toContain(marker);
  }, 120_000);

  it('rolls back to the release before the live one', async () => {
    const rolled = await onApp(['rollback', '--json'], { timeoutMs: 120_000 });
    expectExit(rolled, 0);
    expect(json(rolled)).toMatchObject({ trigger: 'rollback', state: 'live' });
    await answers('staging', 'v1');
  }, 150_000);

  it('redeploys the running release when a variable changes, unless --no-deploy', async () => {
    const set = await onApp(['env', 'set', `GREETING=greet-${run}`, '--json']);
    expectExit(set, 0);
    expect(json(set)).toMatchObject({ set: ['GREETING'], deployment: { id: expect.any(String), trigger: 'config' } });
    await waitUntilLive(call, json(set).deployment.id);
    const greeted = await onApp(['run', '--', 'sh', '-c', `test "$GREETING" = greet-${run}`], { timeoutMs: 120_000 });
    expectExit(greeted, 0);

    expect(okJson(await onApp(['env', 'set', 'X=1', '--no-deploy', '--json']))).toMatchObject({ set: ['X'], deployment: null });
    const newest = (await call(`/apps/${app}/environments/staging/deployments`)).json.deployments[0];
    expect(newest.id).toBe(json(set).deployment.id);
    await answers('staging', 'v1');
  }, 200_000);

  it('promotes staging’s live release to production, naming the variables that differ and no value', async () => {
    const fast = await call(`/apps/${app}/environments/production`, { method: 'PATCH', body: FAST });
    expect(fast.status, fast.text).toBe(200);
    const prod = await call(`/apps/${app}/environments/production/variables`, {
      method: 'PATCH',
      body: { set: { A: `prod-${run}`, P: `prod-${run}` } },
    });
    expect(prod.status, prod.text).toBe(200);
    // Without --yes and without a terminal, production is not changed.
    const unconfirmed = await onApp(['promote']);
    expectExit(unconfirmed, 2);
    expect(unconfirmed.stderr).toContain('variables whose values differ: A');
    expect(unconfirmed.stderr).toContain('--yes');
    for (const value of SECRET_VALUES) expect(unconfirmed.stdout + unconfirmed.stderr).not.toContain(value);
    expect((await call(`/apps/${app}/environments/production/status`)).json.liveRelease).toBeNull();

    const staging = (await call(`/apps/${app}/environments/staging/status`)).json.liveRelease;
    const promoted = await onApp(['promote', '--yes', '--json'], { timeoutMs: 120_000 });
    expectExit(promoted, 0);
    const body = json(promoted);
    expect(body.differences).toEqual({
      from: 'staging',
      to: 'production',
      variables: { onlyInFrom: ['B', 'C', 'D', 'E', 'F', 'GREETING', 'X'], onlyInTo: ['P'], differing: ['A'] },
      services: [],
    });
    for (const value of SECRET_VALUES) expect(promoted.stdout).not.toContain(value);
    expect(body.deployment).toMatchObject({ environment: 'production', trigger: 'promote', state: 'live' });
    expect(body.deployment.image.id).toBe(staging.image.id);
    await answers('production', 'v1');
    const status = await call(`/apps/${app}/environments/production/status`);
    expect(status.json.liveRelease.image.id).toBe(staging.image.id);
  }, 150_000);

  it('scales web to two replicas', async () => {
    expect(okJson(await onApp(['scale', 'web=2', '--json']))).toEqual([
      expect.objectContaining({ process: expect.objectContaining({ type: 'web', replicas: 2 }), deployment: null }),
    ]);
    const bad = await onApp(['scale', 'web=many']);
    expectExit(bad, 2);
    expect(bad.stderr).toContain('web=many');
    const web = async () => {
      const { json: body } = await call(`/apps/${app}/environments/staging/processes`);
      const p = body.processes.find((x: { type: string }) => x.type === 'web');
      return `${p?.replicas}/${p?.running}`;
    };
    await expect.poll(web, { timeout: 90_000, interval: 1000 }).toBe('2/2');
    const serving = okJson(await onApp(['ps', '--json'])).replicas.filter(
      (r: { process: string; state: string }) => r.process === 'web' && r.state === 'serving',
    );
    expect(serving).toHaveLength(2);
  }, 120_000);

  it('runs a one-off command and exits with its exit code', async () => {
    const result = await onApp(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 42'], { timeoutMs: 120_000 });
    expectExit(result, 42);
    expect(result.stdout).toContain('out');
    expect(result.stdout).not.toContain('err');
    expect(result.stderr).toContain('err');

    const asJson = await onApp(['run', '--json', '--', 'sh', '-c', `echo json-${run}; exit 42`], { timeoutMs: 120_000 });
    expectExit(asJson, 42);
    const lines = jsonLines(asJson.stdout);
    expect(lines).toContainEqual(expect.objectContaining({ stream: 'stdout', line: `json-${run}` }));
    const last = lines.at(-1);
    expect(last).toMatchObject({ id: expect.any(String), kind: 'run', state: 'failed', exitCode: 42 });
    const listed = await call(`/apps/${app}/environments/staging/runs`);
    expect(listed.json.runs).toContainEqual(expect.objectContaining({ id: last.id, exitCode: 42 }));
  }, 200_000);

  it('creates a postgres service and links it: DATABASE_URL is injected, its password never shown', async () => {
    const created = await cli.run(['services', 'create', database, '--type', 'postgres', '--json'], { timeoutMs: 180_000 });
    expectExit(created, 0);
    expect(json(created)).toMatchObject({ name: database, type: 'postgres' });
    const service = await call(`/services/${database}?reveal=true`);
    expect(service.json.state).toBe('ready');
    const password: string = service.json.connection.password;
    expect(password.length).toBeGreaterThan(8);

    const linked = await onApp(['services', 'link', database, '--json'], { timeoutMs: 60_000 });
    expectExit(linked, 0);
    const link = json(linked);
    expect(link).toMatchObject({
      service: database,
      variable: 'DATABASE_URL',
      variables: expect.arrayContaining(['DATABASE_URL']),
      deployment: { id: expect.any(String) },
    });
    expect(linked.stdout).not.toContain(password);
    await waitUntilLive(call, link.deployment.id, 150_000);

    const check = 'test -n "$DATABASE_URL" && case "$DATABASE_URL" in postgres*) exit 0;; esac; exit 9';
    const used = await onApp(['run', '--', 'sh', '-c', check], { timeoutMs: 120_000 });
    expectExit(used, 0);
    expect(used.stdout + used.stderr).not.toContain(password);

    const listed = await onApp(['env']);
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(new RegExp(`^DATABASE_URL\\s.*${database}`, 'm'));
    expect(listed.stdout).not.toContain(password);
    const listedJson = await onApp(['env', '--json']);
    expectExit(listedJson, 0);
    expect(json(listedJson)).toMatchObject({
      links: [{ service: database, type: 'postgres', variables: expect.arrayContaining(['DATABASE_URL']) }],
    });
    expect(listedJson.stdout).not.toContain(password);
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
    const { domain } = json(addedJson);
    expect(domain.hostname).toBe(second);
    expect(domain.records).toContainEqual({ type: 'CNAME', name: second, value: `${app}-staging.pier.test` });
    const domains = await call(`/apps/${app}/environments/staging/domains`);
    expect(domains.json.domains.map((d: { hostname: string }) => d.hostname).sort()).toEqual([hostname, second]);
  }, 120_000);

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

    const inferred = await cli.run(['status', '--json'], { cwd: join(clone, 'src') });
    expectExit(inferred, 0);
    expect(json(inferred)).toMatchObject({ app, environment: 'staging' });
    expect(inferred.stderr).toContain(`app ${app}`);
    expect(inferred.stderr).toContain('git remote origin');

    writeFileSync(join(clone, 'pier.json'), JSON.stringify({ app: otherApp }));
    const fromFile = await cli.run(['status', '--json'], { cwd: join(clone, 'src') });
    expectExit(fromFile, 0);
    expect(json(fromFile)).toMatchObject({ app: otherApp, environment: 'staging' });
    expect(fromFile.stderr).toContain(`app ${otherApp}`);
    expect(fromFile.stderr).toContain('pier.json');
  }, 120_000);
});
