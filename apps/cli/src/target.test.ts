import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';
import { chooseApp, findPierJson, gitRemotes, repositoryFullName } from './target.ts';

describe('repositoryFullName', () => {
  it.each([
    ['https://github.com/acme/shop.git', 'acme/shop'],
    ['https://github.com/acme/shop', 'acme/shop'],
    ['https://github.com/acme/shop/', 'acme/shop'],
    ['https://token@github.com/acme/shop.git', 'acme/shop'],
    ['ssh://git@github.com/acme/shop.git', 'acme/shop'],
    ['ssh://git@github.com:2222/acme/shop', 'acme/shop'],
    ['git@github.com:acme/shop.git', 'acme/shop'],
    ['git@gitlab.example.com:group/acme/shop.git', 'acme/shop'],
    ['file:///srv/git/acme/shop.git', 'acme/shop'],
  ])('%s is %s', (url, fullName) => {
    expect(repositoryFullName(url)).toBe(fullName);
  });

  it.each([['https://github.com/acme'], ['not a url'], ['']])('%j has none', (url) => {
    expect(repositoryFullName(url)).toBeUndefined();
  });
});

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'pier-cli-target-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, {
    cwd,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    stdio: 'ignore',
  });
}

/** A clone with these remotes (name → URL) and a nested folder. */
function clone(name: string, remotes: Record<string, string>): string {
  const folder = join(root, name);
  mkdirSync(join(folder, 'src', 'deep'), { recursive: true });
  git(folder, 'init', '--quiet');
  for (const [remote, url] of Object.entries(remotes)) git(folder, 'remote', 'add', remote, url);
  return folder;
}

/** An ApiClient whose GET /apps answers `apps`, counting the calls. */
function fakeApi(apps: { name: string; repository: { fullName: string } | null }[]) {
  const calls: string[] = [];
  const fetchStub = (async (url: URL | string) => {
    calls.push(new URL(String(url)).pathname);
    return new Response(JSON.stringify({ apps }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const client = new ApiClient({ url: 'http://pier.invalid', token: 't', cliVersion: '1.0.0', fetch: fetchStub });
  return { api: async () => client, calls };
}

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

describe('findPierJson', () => {
  it('finds the nearest pier.json upwards and stops at the folder holding .git', () => {
    const repo = clone('pier-json', {});
    writeFileSync(join(root, 'pier.json'), '{"app":"outside"}');
    expect(findPierJson(join(repo, 'src', 'deep'))).toBeUndefined();
    writeFileSync(join(repo, 'pier.json'), '{"app":"top"}');
    expect(findPierJson(join(repo, 'src', 'deep'))).toBe(join(repo, 'pier.json'));
    writeFileSync(join(repo, 'src', 'pier.json'), '{"app":"nested"}');
    expect(findPierJson(join(repo, 'src', 'deep'))).toBe(join(repo, 'src', 'pier.json'));
    rmSync(join(root, 'pier.json'));
  });
});

describe('chooseApp', () => {
  const apps = [
    { name: 'shop', repository: { fullName: 'acme/shop' } },
    { name: 'shop-eu', repository: { fullName: 'acme/shop-eu' } },
    { name: 'imaged', repository: null },
  ];

  it('takes --app first, without asking the API', async () => {
    const { api, calls } = fakeApi(apps);
    expect(await chooseApp(root, 'shop', api)).toEqual({ app: 'shop', source: '--app' });
    expect(calls).toEqual([]);
    const bad = await failure(chooseApp(root, 'Not_An_App', api));
    expect(bad.exitCode).toBe(EXIT.usage);
    expect(bad.message).toMatch(/^--app: /);
  });

  it('finds the app whose repository is a remote of this clone, from a nested folder', async () => {
    const folder = clone('one-match', {
      upstream: 'git@github.com:someone/else.git',
      origin: 'https://github.com/ACME/shop.git',
    });
    expect(await gitRemotes(folder)).toEqual([
      { name: 'origin', fullName: 'ACME/shop' },
      { name: 'upstream', fullName: 'someone/else' },
    ]);
    const { api, calls } = fakeApi(apps);
    expect(await chooseApp(join(folder, 'src', 'deep'), undefined, api)).toEqual({
      app: 'shop',
      source: 'git remote origin',
    });
    expect(calls).toEqual(['/apps']);
  });

  it('prefers pier.json\'s "app" over the remote', async () => {
    const folder = clone('pier-json-wins', { origin: 'https://github.com/acme/shop.git' });
    writeFileSync(join(folder, 'pier.json'), JSON.stringify({ app: 'shop-eu', processes: {} }));
    const { api, calls } = fakeApi(apps);
    expect(await chooseApp(join(folder, 'src'), undefined, api)).toEqual({
      app: 'shop-eu',
      source: join(folder, 'pier.json'),
    });
    expect(calls).toEqual([]);
  });

  it('falls back to the remote when pier.json has no "app", and refuses a bad one', async () => {
    const folder = clone('pier-json-without-app', { origin: 'git@github.com:acme/shop-eu.git' });
    writeFileSync(join(folder, 'pier.json'), JSON.stringify({ processes: { web: {} } }));
    expect((await chooseApp(folder, undefined, fakeApi(apps).api)).app).toBe('shop-eu');
    writeFileSync(join(folder, 'pier.json'), JSON.stringify({ app: 'Bad Name' }));
    const bad = await failure(chooseApp(folder, undefined, fakeApi(apps).api));
    expect(bad.exitCode).toBe(EXIT.usage);
    expect(bad.message).toContain('pier.json');
    writeFileSync(join(folder, 'pier.json'), '{ not json');
    expect((await failure(chooseApp(folder, undefined, fakeApi(apps).api))).exitCode).toBe(EXIT.usage);
  });

  it('refuses to guess when two apps deploy this clone', async () => {
    const folder = clone('ambiguous', {
      origin: 'https://github.com/acme/shop.git',
      eu: 'https://github.com/acme/shop-eu.git',
    });
    const err = await failure(chooseApp(folder, undefined, fakeApi(apps).api));
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toContain('shop, shop-eu');
    expect(err.message).toContain('--app');
  });

  it('says "not found" when no app deploys the remote', async () => {
    const folder = clone('no-match', { origin: 'https://github.com/acme/blog.git' });
    const err = await failure(chooseApp(folder, undefined, fakeApi(apps).api));
    expect(err.exitCode).toBe(EXIT.notFound);
    expect(err.message).toContain('acme/blog');
  });

  it('is a usage error outside a clone with no pier.json, without asking the API', async () => {
    const folder = join(root, 'plain');
    mkdirSync(folder);
    const { api, calls } = fakeApi(apps);
    const err = await failure(chooseApp(folder, undefined, api));
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toMatch(/^--app: no app given/);
    expect(calls).toEqual([]);
  });
});
