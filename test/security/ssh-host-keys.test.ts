import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildError, type RepoAccess } from '@pier/core';
import { GitSourceFetcher } from '@pier/source';
import { Server, utils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';

/**
 * Git over SSH checks the server's host key: against GitHub's published keys
 * and the operator's known_hosts file (PIER_GIT_KNOWN_HOSTS), never trusting
 * a host on first use. The server is a real SSH server on loopback (ssh2)
 * that serves a real repository through `git upload-pack` to anyone holding
 * the deploy key; the client is the real git and OpenSSH.
 */

let scratch: string;
let repo: TestGitRepository;
let tip: string;
let server: Server;
let port: number;
/**
 * An ed25519 key pair whose public half ssh2 can read back: now and then
 * (seen once in a full run) ssh2 writes one its own parser calls malformed,
 * so a pair is made again, a bounded number of times.
 */
function keyPair(): ReturnType<typeof utils.generateKeyPairSync> {
  for (let attempt = 1; ; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error)) return pair;
    if (attempt === 10) throw new Error('ssh2 made 10 ed25519 key pairs it cannot parse');
  }
}

const hostKey = keyPair();
const otherHostKey = keyPair();
const deployKey = keyPair();
/** What the server saw of each connection: whether the client got as far as authenticating. */
const attempts: string[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'pier-ssh-'));
  repo = new TestGitRepository(scratch);
  tip = repo.commit({ 'README.md': '# over ssh\n' }, 'first');
  repo.push();
  const allowed = utils.parseKey(deployKey.public);
  if (allowed instanceof Error) throw allowed;
  server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => {
      attempts.push(ctx.method);
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const same = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      if (!same || (ctx.signature && allowed.verify(ctx.blob as Buffer, ctx.signature, ctx.hashAlgo) !== true))
        return ctx.reject();
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        // git asks for protocol version 2 through this variable, as with GitHub.
        let protocol: string | undefined;
        session.on('env', (accept, reject, info) => {
          if (info.key !== 'GIT_PROTOCOL') return reject?.();
          protocol = info.val;
          accept?.();
        });
        session.on('exec', (accept, reject, info) => {
          // Only the one repository, whatever path was asked for: upload-pack, which only reads.
          if (!info.command.startsWith('git-upload-pack ')) return reject();
          const stream = accept();
          const git = spawn('git', ['upload-pack', repo.bare], {
            stdio: ['pipe', 'pipe', 'pipe'],
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(protocol ? { GIT_PROTOCOL: protocol } : {}) },
          });
          stream.pipe(git.stdin);
          // Not ended by git's output ending: the exit status goes first, then the channel closes.
          git.stdout.pipe(stream, { end: false });
          git.stderr.pipe(stream.stderr, { end: false });
          git.on('close', (code) => {
            stream.exit(code ?? 1);
            stream.end();
          });
        });
      });
    });
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  // A beforeAll that failed may have left no server: closing nothing would wait for ever.
  if (server) await new Promise((resolve) => server.close(resolve));
  repo?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const access = (): RepoAccess => ({
  cloneUrl: `ssh://git@127.0.0.1:${port}/acme/app.git`,
  credentials: { kind: 'deploy-key', privateKey: deployKey.private },
});

/** A known_hosts file naming this server with `key`, as an operator would write it. */
function knownHosts(name: string, key: { public: string }): string {
  const file = join(scratch, name);
  writeFileSync(file, `# the operator's hosts\n[127.0.0.1]:${port} ${key.public.split(' ').slice(0, 2).join(' ')}\n`);
  return file;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('SSH host keys of git servers', () => {
  it('an unknown host is refused before anything is sent to it, with an error naming the host-key problem', async () => {
    const fetcher = new GitSourceFetcher({ tempDirectory: scratch, timeoutMs: 20_000 });
    const before = attempts.length;
    const error = await failure(fetcher.resolve(access(), { kind: 'branch', name: 'main' }));
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain(`the SSH host key of [127.0.0.1]:${port} is not a trusted one`);
    expect(error.message).toContain('PIER_GIT_KNOWN_HOSTS');
    // The client stopped at the host key: it never tried to authenticate, so the deploy key was never offered.
    expect(attempts.slice(before)).toEqual([]);
    expect(error.message).not.toContain('OPENSSH PRIVATE KEY');
  });

  it("a host in the operator's known_hosts file is trusted: resolve and fetch over SSH with the deploy key", async () => {
    const fetcher = new GitSourceFetcher({
      tempDirectory: scratch,
      timeoutMs: 20_000,
      knownHostsFile: knownHosts('known_hosts_ok', hostKey),
    });
    expect(await fetcher.resolve(access(), { kind: 'branch', name: 'main' })).toBe(tip);
    expect(attempts).toContain('publickey');
    const directory = join(scratch, 'checkout');
    const fetched = await fetcher.fetch({ repo: access(), sha: tip, directory, maxBytes: 1e6 });
    expect(fetched).toEqual({ directory, sha: tip, bytes: '# over ssh\n'.length });
    expect(readFileSync(join(directory, 'README.md'), 'utf8')).toBe('# over ssh\n');
  });

  it('a host whose key changed is refused, naming it', async () => {
    const fetcher = new GitSourceFetcher({
      tempDirectory: scratch,
      timeoutMs: 20_000,
      knownHostsFile: knownHosts('known_hosts_changed', otherHostKey),
    });
    const before = attempts.length;
    const error = await failure(fetcher.resolve(access(), { kind: 'branch', name: 'main' }));
    expect(error.message).toMatch(/the SSH host key of \S*127\.0\.0\.1\S* is not a trusted one .*or it changed/);
    expect(attempts.slice(before)).toEqual([]);
  });
});
