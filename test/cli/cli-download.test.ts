import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { exitWithin, freePort, type RunningProcess, signalGroup, startScript, waitForHttp } from '../support/processes.ts';
import { apiProcessEnv } from '../support/worker-process.ts';
import { buildCli, type CliHarness, type CliResult, expectExit, json, runFile } from './cli-harness.ts';

// The file users download from their own Pier (GET /cli) is the bundle, runs on its own, and logs in.

const adminToken = randomBytes(32).toString('hex');
const secretKey = randomBytes(32);

let cli: CliHarness;
let database: TestDatabase;
let api: RunningProcess;
let unbuiltApi: RunningProcess;
let apiUrl: string;
let unbuiltUrl: string;
/** The downloaded `pier`, run directly (its shebang picks node). */
let pier: string;

async function startApi(bundlePath: string): Promise<{ proc: RunningProcess; url: string }> {
  const apiPort = await freePort();
  const proc = startScript(
    'apps/api/src/main.ts',
    apiProcessEnv({ databaseUrl: database.url, secretKey, apiPort, adminToken }, { PIER_CLI_BUNDLE: bundlePath }),
  );
  const url = `http://127.0.0.1:${apiPort}`;
  await waitForHttp(`${url}/health`, 200, 30_000);
  return { proc, url };
}

async function call(route: string, init: { method?: string; body?: unknown; token?: string } = {}) {
  const res = await fetch(apiUrl + route, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? adminToken}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

/** Runs the downloaded file itself, not `node <file>`. */
function runPier(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runFile([pier, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: cli.home,
      XDG_CONFIG_HOME: cli.configHome,
      NO_COLOR: '1',
      ...env,
    },
    timeoutMs: 30_000,
  });
}

const configFile = () => join(cli.configHome, 'pier', 'config.json');

beforeAll(async () => {
  cli = await buildCli();
  database = await createTestDatabase();
  const started = await startApi(cli.bundle);
  api = started.proc;
  apiUrl = started.url;
  const unbuilt = await startApi(join(cli.home, 'no-such-bundle.cjs'));
  unbuiltApi = unbuilt.proc;
  unbuiltUrl = unbuilt.url;
  pier = join(cli.home, 'pier');
}, 120_000);

afterAll(async () => {
  for (const proc of [api, unbuiltApi]) {
    if (!proc || proc.child.exitCode !== null) continue;
    signalGroup(proc, 'SIGTERM');
    await exitWithin(proc, 20_000).catch(() => signalGroup(proc, 'SIGKILL'));
  }
  await database?.destroy();
  cli?.remove();
});

describe('GET /cli', () => {
  it('serves the built bundle, which runs directly and reports the server version', async () => {
    const res = await fetch(`${apiUrl}/cli`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(readFileSync(cli.bundle))).toBe(true);
    expect(body.toString('utf8', 0, 20)).toBe('#!/usr/bin/env node\n');
    writeFileSync(pier, body);
    chmodSync(pier, 0o755);

    const { version } = (await (await fetch(`${apiUrl}/version`)).json()) as { version: string };
    const result = await runPier(['--version']);
    expectExit(result, 0);
    expect(result.stdout.trim()).toBe(`pier ${version}`);
  });

  it('answers 304 to If-None-Match with its ETag', async () => {
    const first = await fetch(`${apiUrl}/cli`);
    await first.arrayBuffer();
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${apiUrl}/cli`, { headers: { 'if-none-match': etag as string } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
    const stale = await fetch(`${apiUrl}/cli`, { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it('answers 503 cli_not_built when the bundle is missing on the server', async () => {
    const res = await fetch(`${unbuiltUrl}/cli`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('cli_not_built');
    expect(body.error.message).toContain('build:cli');
  });
});

describe('the downloaded pier', () => {
  it('refuses a wrong token with exit 3 and saves nothing', async () => {
    const result = await runPier(['login', apiUrl], { PIER_TOKEN: 'not-a-token' });
    expectExit(result, 3);
    expect(result.stderr).toMatch(/^error: /);
    expect(result.stderr).not.toContain('not-a-token');
    expect(existsSync(configFile())).toBe(false);
  });

  it('logs in with PIER_TOKEN: exit 0, a mode-600 file holding the URL, the token never printed', async () => {
    const result = await runPier(['login', apiUrl], { PIER_TOKEN: adminToken });
    expectExit(result, 0);
    expect(result.stdout + result.stderr).not.toContain(adminToken);
    expect(result.stderr).toContain(`logged in to ${apiUrl}`);
    expect(statSync(configFile()).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(configFile(), 'utf8'));
    expect(saved.current).toBe('default');
    expect(saved.servers.default).toEqual({ url: apiUrl, token: adminToken });
  });

  it('reads the token from stdin when there is no terminal', async () => {
    const result = await runFile([pier, 'login', apiUrl, '--server', 'piped'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cli.home, XDG_CONFIG_HOME: cli.configHome },
      stdin: `${adminToken}\n`,
    });
    expectExit(result, 0);
    expect(result.stdout + result.stderr).not.toContain(adminToken);
    const saved = JSON.parse(readFileSync(configFile(), 'utf8'));
    expect(Object.keys(saved.servers).sort()).toEqual(['default', 'piped']);
    expectExit(await runPier(['servers', 'use', 'default']), 0);
  });

  it('says who it is with the saved server, as JSON', async () => {
    const result = await runPier(['whoami', '--json']);
    expectExit(result, 0);
    expect(json(result)).toMatchObject({ role: 'admin', app: null });
    const version = await runPier(['version', '--json']);
    expectExit(version, 0);
    const versions = json(version);
    expect(versions.cli).toBe(versions.server);
    expect(versions.url).toBe(apiUrl);
  });

  it('acts as an app token for its app only', async () => {
    for (const name of ['dl-mine', 'dl-other']) {
      const created = await call('/apps', {
        method: 'POST',
        body: { name, repository: { fullName: `acme/${name}`, cloneUrl: 'https://github.com/acme/x.git' } },
      });
      expect(created.status, created.text).toBe(201);
    }
    const token = await call('/tokens', { method: 'POST', body: { name: 'dl-mine-ci', app: 'dl-mine' } });
    expect(token.status, token.text).toBe(201);
    const env = { PIER_URL: apiUrl, PIER_TOKEN: token.json.token as string };

    const who = await runPier(['whoami', '--json'], env);
    expectExit(who, 0);
    expect(json(who)).toMatchObject({ role: 'app', app: 'dl-mine', tokenId: token.json.id });

    // PIER_TOKEN replaces the saved admin token: deleting an app, its own or another, is an admin's to do.
    for (const name of ['dl-mine', 'dl-other']) {
      const refused = await runPier(['apps', 'delete', name, '--yes'], env);
      expectExit(refused, 3);
      expect(refused.stderr).toContain('admin');
      expect(refused.stderr).not.toContain(env.PIER_TOKEN);
      expect((await call(`/apps/${name}`)).status).toBe(200);
    }
  });
});
