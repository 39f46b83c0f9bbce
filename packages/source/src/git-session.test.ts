import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
      `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=30 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${session.env.HOME}/known_hosts -i ${key}`,
    );
    await session.dispose();
    expect(existsSync(key)).toBe(false);
  });

  it('uses a configured known_hosts strictly', async () => {
    const url = 'git@github.com:acme/app.git';
    const session = await openGitSession({ cloneUrl: url }, parseCloneUrl(url, { allowFile: false }), {
      ...options,
      knownHostsFile: '/etc/pier/known_hosts',
    });
    expect(session.env.GIT_SSH_COMMAND).toContain('-o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/pier/known_hosts');
    await session.dispose();
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
