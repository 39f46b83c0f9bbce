import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCloneUrl } from './clone-url.ts';
import { openGitSession } from './git-session.ts';

const parent = mkdtempSync(join(tmpdir(), 'pier-session-'));
const options = { tempDirectory: parent, path: '/usr/bin:/bin' };
const privateKey = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----';

afterAll(() => rmSync(parent, { recursive: true, force: true }));

describe('openGitSession', () => {
  it('isolates git from the host configuration', async () => {
    const session = await openGitSession(
      { cloneUrl: 'https://h.invalid/r.git' },
      parseCloneUrl('https://h.invalid/r.git', { allowFile: false }),
      options,
    );
    expect(session.env).toMatchObject({
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      PATH: '/usr/bin:/bin',
    });
    expect(session.env.HOME?.startsWith(join(parent, 'pier-git-'))).toBe(true);
    expect(session.env.GIT_CONFIG_COUNT).toBeUndefined();
    await session.dispose();
    expect(existsSync(session.env.HOME ?? '')).toBe(false);
  });

  it('puts a token in an origin-scoped header in the environment', async () => {
    const url = 'https://github.com/acme/app.git';
    const session = await openGitSession(
      { cloneUrl: url, credentials: { kind: 'token', token: 'tok' } },
      parseCloneUrl(url, { allowFile: false }),
      options,
    );
    expect(session.env).toMatchObject({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://github.com/.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:tok').toString('base64')}`,
    });
    expect(session.secrets).toContain('tok');
    await session.dispose();
  });

  it('writes a deploy key as a 0600 file that GIT_SSH_COMMAND names, and removes it', async () => {
    const url = 'git@github.com:acme/app.git';
    const session = await openGitSession(
      { cloneUrl: url, credentials: { kind: 'deploy-key', privateKey } },
      parseCloneUrl(url, { allowFile: false }),
      options,
    );
    const key = join(session.env.HOME ?? '', 'deploy_key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toBe(`${privateKey}\n`);
    expect(session.env.GIT_SSH_COMMAND).toBe(
      `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=30 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${session.env.HOME}/known_hosts -o GlobalKnownHostsFile=/dev/null -i ${key}`,
    );
    await session.dispose();
    expect(existsSync(key)).toBe(false);
  });

  it("trusts GitHub's published host keys, strictly, and nothing of the host's", async () => {
    const url = 'git@github.com:acme/app.git';
    const session = await openGitSession({ cloneUrl: url }, parseCloneUrl(url, { allowFile: false }), options);
    const knownHosts = join(session.env.HOME ?? '', 'known_hosts');
    expect(session.env.GIT_SSH_COMMAND).toContain(
      `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -o GlobalKnownHostsFile=/dev/null`,
    );
    expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
    const keys = readFileSync(knownHosts, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(keys.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'github.com ssh-ed25519',
      'github.com ecdsa-sha2-nistp256',
      'github.com ssh-rsa',
    ]);
    await session.dispose();
  });

  it("adds the operator's known_hosts file, read for each operation; one that cannot be read is an error naming it", async () => {
    const extra = join(parent, 'extra_known_hosts');
    writeFileSync(extra, '[git.example.internal]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n');
    const url = 'ssh://git@git.example.internal:2222/r.git';
    const session = await openGitSession({ cloneUrl: url }, parseCloneUrl(url, { allowFile: false }), {
      ...options,
      knownHostsFile: extra,
    });
    const written = readFileSync(join(session.env.HOME ?? '', 'known_hosts'), 'utf8');
    expect(written).toContain('github.com ssh-ed25519 ');
    expect(written).toContain('[git.example.internal]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample');
    await session.dispose();
    rmSync(extra);
    const missing = openGitSession({ cloneUrl: url }, parseCloneUrl(url, { allowFile: false }), {
      ...options,
      knownHostsFile: extra,
    });
    await expect(missing).rejects.toThrow(`the known_hosts file ${extra} cannot be read: ENOENT`);
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses a deploy key that is not a private key, leaving nothing behind', async () => {
    const url = 'git@github.com:acme/app.git';
    const attempt = openGitSession(
      { cloneUrl: url, credentials: { kind: 'deploy-key', privateKey: 'x; rm -rf /' } },
      parseCloneUrl(url, { allowFile: false }),
      options,
    );
    await expect(attempt).rejects.toMatchObject({ field: 'credentials' });
    expect(readdirSync(parent)).toEqual([]);
  });
});
