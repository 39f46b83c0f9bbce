import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError, type GitRef, NotFoundError, type RepoAccess, ValidationError } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceFetcher } from './git-source-fetcher.ts';
import { TestGitRepository } from './testing/git-repository.ts';

const PACKAGE_JSON = '{"name":"app","scripts":{"start":"node index.js"}}\n';
const INDEX = 'console.log("hi")\n';

let scratch: string;
let repo: TestGitRepository;
let evil: TestGitRepository;
let first: string;
let tip: string;
let feature: string;
const fetcher = () => new GitSourceFetcher({ allowFileUrls: true, tempDirectory: scratch });
const access = (r: TestGitRepository = repo): RepoAccess => ({ cloneUrl: r.url });
let directories = 0;
const freshDirectory = () => join(scratch, `checkout-${++directories}`);

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'pier-source-test-'));
  repo = new TestGitRepository(scratch);
  first = repo.commit({ 'package.json': PACKAGE_JSON, 'README.md': '# app\n' }, 'first');
  repo.run('tag', 'light');
  tip = repo.commit({ 'src/index.js': INDEX, 'index.js': { symlink: 'src/index.js' } }, 'second');
  repo.run('tag', '--annotate', '--message', 'release', 'v1.0.0');
  repo.run('checkout', '--quiet', '-b', 'feature/x');
  feature = repo.commit({ 'feature.txt': 'x\n' }, 'feature');
  repo.run('checkout', '--quiet', 'main');
  repo.push();
  evil = new TestGitRepository(scratch);
  evil.commit({ 'package.json': PACKAGE_JSON, passwd: { symlink: '/etc/passwd' } });
  evil.push();
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe.concurrent('GitSourceFetcher.resolve', () => {
  it.each<[string, () => GitRef, () => string]>([
    ['branch main', () => ({ kind: 'branch', name: 'main' }), () => tip],
    ['branch with a slash', () => ({ kind: 'branch', name: 'feature/x' }), () => feature],
    ['lightweight tag', () => ({ kind: 'tag', name: 'light' }), () => first],
    ['annotated tag, peeled to its commit', () => ({ kind: 'tag', name: 'v1.0.0' }), () => tip],
    ['exact commit (upper case accepted)', () => ({ kind: 'commit', sha: first.toUpperCase() }), () => first],
  ])('%s', async (_, ref, expected) => {
    expect(await fetcher().resolve(access(), ref())).toBe(expected());
  });

  it.each<[string, GitRef]>([
    ['missing branch', { kind: 'branch', name: 'nope' }],
    ['a branch only matched by suffix', { kind: 'branch', name: 'x' }],
    ['missing tag', { kind: 'tag', name: 'v9' }],
  ])('%s is a NotFoundError', async (_, ref) => {
    const error = await failure(fetcher().resolve(access(), ref));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toMatch(/not found in the repository/);
  });

  it('a missing repository is a NotFoundError', async () => {
    const error = await failure(fetcher().resolve({ cloneUrl: `file://${scratch}/none.git` }, { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toMatch(/repository not found/);
  });

  it('refuses file:// URLs unless allowed', async () => {
    const error = await failure(new GitSourceFetcher().resolve(access(), { kind: 'branch', name: 'main' }));
    expect(error).toMatchObject({ field: 'cloneUrl' });
  });
});

describe('malicious input is refused before git runs', () => {
  const marker = () => join(scratch, 'pwned');
  // With a git binary that does not exist, anything that got as far as running git would fail differently.
  const noGit = () => new GitSourceFetcher({ allowFileUrls: true, tempDirectory: scratch, gitBinary: join(scratch, 'no-git') });

  it.each<[string, () => GitRef, string]>([
    ['--upload-pack', () => ({ kind: 'branch', name: `--upload-pack=touch ${marker()}` }), 'branch'],
    ['$(…)', () => ({ kind: 'branch', name: `$(touch ${marker()})` }), 'branch'],
    ['..', () => ({ kind: 'tag', name: 'a..b' }), 'tag'],
    ['newline', () => ({ kind: 'branch', name: `x\ntouch ${marker()}` }), 'branch'],
    ['leading dash', () => ({ kind: 'branch', name: '-b' }), 'branch'],
    ['short sha', () => ({ kind: 'commit', sha: 'abc123' }), 'sha'],
    ['sha with an option', () => ({ kind: 'commit', sha: `--upload-pack=touch ${marker()}` }), 'sha'],
  ])('ref %s', async (_, ref, field) => {
    const error = await failure(noGit().resolve(access(), ref()));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field });
    expect(existsSync(marker())).toBe(false);
  });

  it.each([
    ['--upload-pack option', () => `--upload-pack=touch ${marker()}`],
    ['ext:: transport', () => `ext::sh -c touch% ${marker()}`],
    ['fd:: transport', () => 'fd::3'],
    ['ssh host option', () => `ssh://-oProxyCommand=touch%20${marker()}/x`],
    ['scp-like host option', () => `-oProxyCommand=x:repo`],
    ['password in URL', () => 'https://user:secret@example.invalid/r.git'],
    ['local path', () => join(scratch, 'origin.git')],
    ['whitespace', () => 'https://example.invalid/a b.git'],
  ])('clone URL: %s', async (_, url) => {
    const error = await failure(noGit().resolve({ cloneUrl: url() }, { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'cloneUrl' });
    expect(existsSync(marker())).toBe(false);
  });

  it('refuses a malicious sha in fetch', async () => {
    const request = { repo: access(), sha: `-${'a'.repeat(39)}`, directory: freshDirectory(), maxBytes: 1e6 };
    expect(await failure(noGit().fetch(request))).toMatchObject({ field: 'sha' });
  });
});

describe.concurrent('GitSourceFetcher.fetch', () => {
  it('checks out the branch tip, keeps an inside symlink, removes .git and counts bytes', async () => {
    const directory = freshDirectory();
    const fetched = await fetcher().fetch({ repo: access(), sha: tip, directory, maxBytes: 1e6 });
    expect(fetched).toEqual({ directory, sha: tip, bytes: PACKAGE_JSON.length + '# app\n'.length + INDEX.length });
    expect(readdirSync(directory).sort()).toEqual(['README.md', 'index.js', 'package.json', 'src']);
    expect(lstatSync(join(directory, 'index.js')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(directory, 'index.js'))).toBe('src/index.js');
  });

  it('checks out a commit that is not a branch tip', async () => {
    const directory = freshDirectory();
    await fetcher().fetch({ repo: access(), sha: first, directory, maxBytes: 1e6 });
    expect(readdirSync(directory).sort()).toEqual(['README.md', 'package.json']);
    expect(readFileSync(join(directory, 'package.json'), 'utf8')).toBe(PACKAGE_JSON);
  });

  it('a commit that is not in the repository is a NotFoundError', async () => {
    const error = await failure(
      fetcher().fetch({ repo: access(), sha: 'f'.repeat(40), directory: freshDirectory(), maxBytes: 1e6 }),
    );
    expect(error).toBeInstanceOf(NotFoundError);
  });

  it('refuses a symlink to /etc/passwd, naming it', async () => {
    const sha = await fetcher().resolve(access(evil), { kind: 'branch', name: 'main' });
    const directory = freshDirectory();
    const error = await failure(fetcher().fetch({ repo: access(evil), sha, directory, maxBytes: 1e6 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'repository', message: 'symlink "passwd" points outside the repository' });
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses a checkout over maxBytes', async () => {
    const directory = freshDirectory();
    const error = await failure(fetcher().fetch({ repo: access(), sha: tip, directory, maxBytes: 10 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toMatch(/larger than the limit of 10 bytes/);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses a directory that is not empty', async () => {
    const directory = freshDirectory();
    mkdirSync(directory);
    writeFileSync(join(directory, 'x'), 'x');
    expect(await failure(fetcher().fetch({ repo: access(), sha: tip, directory, maxBytes: 1e6 }))).toMatchObject({
      field: 'directory',
    });
  });
});

describe('stalled remotes, cancellation and credentials', () => {
  let server: Server;
  let base: string;
  const requests: IncomingHttpHeaders[] = [];
  let openSockets = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push(request.headers);
      if (request.url?.startsWith('/missing.git/')) response.writeHead(404).end('not here');
      // Anything else stalls: never answered.
    });
    server.on('connection', (socket) => {
      openSockets++;
      socket.on('close', () => openSockets--);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('an aborted fetch kills git and rejects promptly', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = fetcher().fetch(
      { repo: { cloneUrl: `${base}/stall.git` }, sha: tip, directory: freshDirectory(), maxBytes: 1e6 },
      controller.signal,
    );
    await expect.poll(() => openSockets, { timeout: 5000 }).toBeGreaterThan(0);
    controller.abort();
    const error = await failure(pending);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toBe(`fetching commit ${tip} was cancelled`);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect.poll(() => openSockets, { timeout: 2000 }).toBe(0);
  });

  it('an already aborted signal runs nothing', async () => {
    const error = await failure(fetcher().resolve(access(), { kind: 'branch', name: 'main' }, AbortSignal.abort()));
    expect(error.message).toBe('resolving branch "main" was cancelled');
  });

  it('a stalled remote times out', async () => {
    const slow = new GitSourceFetcher({ tempDirectory: scratch, timeoutMs: 300 });
    const error = await failure(slow.resolve({ cloneUrl: `${base}/stall.git` }, { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toMatch(/timed out/);
  });

  it('sends a token as a Basic Authorization header and never reports it', async () => {
    const token = 'ghs_SECRETTOKEN123';
    const repoAccess: RepoAccess = { cloneUrl: `${base}/missing.git`, credentials: { kind: 'token', token } };
    const error = await failure(fetcher().resolve(repoAccess, { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(NotFoundError);
    const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    expect(requests.at(-1)?.authorization).toBe(expected);
    expect(JSON.stringify({ message: error.message, lines: (error as BuildError).lastLines })).not.toContain('SECRET');
  });

  it('refuses a token over plain http to another host, and a deploy key over https', async () => {
    const token = { kind: 'token', token: 't' } as const;
    const key = {
      kind: 'deploy-key',
      privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
    } as const;
    for (const repoAccess of [
      { cloneUrl: 'http://example.invalid/r.git', credentials: token },
      { cloneUrl: 'git@example.invalid:r.git', credentials: token },
      { cloneUrl: 'https://example.invalid/r.git', credentials: key },
      { cloneUrl: 'https://example.invalid/r.git', credentials: { kind: 'token', token: 'a\r\nX-Evil: 1' } as const },
    ])
      expect(await failure(fetcher().resolve(repoAccess, { kind: 'branch', name: 'main' }))).toMatchObject({
        field: 'credentials',
      });
  });

  it('writes a deploy key to a private file only for the duration of the operation', async () => {
    const temp = mkdtempSync(join(scratch, 'keys-'));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const privateKey = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----';
    const keyed = new GitSourceFetcher({ tempDirectory: temp, timeoutMs: 10_000 });
    const repoAccess: RepoAccess = {
      cloneUrl: `ssh://git@127.0.0.1:${port}/r.git`,
      credentials: { kind: 'deploy-key', privateKey },
    };
    const error = await failure(keyed.resolve(repoAccess, { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).not.toContain('not-a-real-key');
    expect(readdirSync(temp)).toEqual([]);
  });
});
