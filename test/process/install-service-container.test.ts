import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_APP } from '@pier/core';
import { DockerRuntime } from '@pier/docker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeAppObjects } from '../builds/build-harness.ts';
import { REPO_ROOT, scriptCommand } from '../support/processes.ts';
import { LOCAL_IMAGES } from '../support/worker.ts';
import { parseEnvironmentFile } from './systemd-environment-file.ts';

/**
 * `npm run install-service` for real, as root, in a throwaway container (no
 * network; this clone mounted read-only at /opt/pier, the unit's
 * WorkingDirectory): it makes the users pier and pier-proxy, gives .env to pier
 * alone, writes /etc/pier/proxy.env for pier-proxy, gives the snapshot
 * directory to pier-proxy, and rewrites proxy.env when .env changes. What
 * each user can read is tried with setpriv inside the container.
 */

const engine = new DockerRuntime();
const appName = `install-${randomBytes(3).toString('hex')}`;
afterAll(() => removeAppObjects(engine, [appName]), 60_000);

// The installer checks the compiled processes exist; its build runs a stand-in `node` in the
// container (no Node.js there, and the clone is read-only), so the clone must hold a build.
beforeAll(() => {
  const built = ['apps/api/dist/main.mjs', 'apps/worker/dist/main.mjs', 'apps/proxy/dist/main.mjs'].every((bundle) =>
    existsSync(join(REPO_ROOT, bundle)),
  );
  const [node, ...args] = scriptCommand('scripts/build-server.ts');
  if (!built) execFileSync(node as string, args, { stdio: 'ignore' });
}, 120_000);

const PROXY_URL = `postgres://pier_proxy:pa$$ "w'o\\rd#@127.0.0.1:5432/pier`;
const DOTENV = [
  'DATABASE_URL=postgres://pier:owner-password@127.0.0.1:5432/pier',
  'PIER_SECRET_KEY=secret-key',
  'PIER_ADMIN_TOKEN=admin-token',
  'PIER_PROXY_KEY=proxy-key',
  `PIER_PROXY_DATABASE_URL=${PROXY_URL}`,
  'PIER_HTTP_PORT=80',
  '',
].join('\n');

// Inside the container: what a Debian host with systemd and Docker has (the docker group,
// /etc/tmpfiles.d, /etc/systemd/system, a node), then three runs of the installer.
const SCRIPT = `
set -euo pipefail
groupadd docker
mkdir -p /etc/tmpfiles.d /etc/systemd/system /srv/pier
printf '#!/bin/sh\\n' >/usr/local/bin/node && chmod 755 /usr/local/bin/node
printf '%s' "$DOTENV" >/srv/pier/.env && chmod 644 /srv/pier/.env
can() { if setpriv --reuid="$1" --regid="$1" --clear-groups -- cat "$2" >/dev/null 2>&1; then echo "$1 reads $2: yes"; else echo "$1 reads $2: no"; fi; }
run_installer() { bash /opt/pier/scripts/install-service.sh --env-file /srv/pier/.env; }
echo "== first"; run_installer
echo "== owners"; stat -c '%n %U:%G %a' /srv/pier/.env /etc/pier /etc/pier/proxy.env /var/lib/pier-proxy /var/lib/pier/backups /run/pier
echo "== reads"
for user in pier pier-proxy; do can "$user" /srv/pier/.env; can "$user" /etc/pier/proxy.env; done
echo "== unit"; grep -E '^(User|Group|EnvironmentFile)=' /etc/systemd/system/pier-proxy.service
echo "== proxy.env"; cat /etc/pier/proxy.env
echo "== second"; run_installer
sed -i 's/^PIER_HTTP_PORT=80$/PIER_HTTP_PORT=8080/' /srv/pier/.env
echo "== third"; run_installer
echo "== proxy.env again"; cat /etc/pier/proxy.env
`;

/** The container's output, by `== name` section. */
function sections(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name = '';
  for (const line of output.split('\n')) {
    const header = /^== (.+)$/.exec(line);
    if (header) name = header[1] as string;
    else out[name] = `${out[name] ?? ''}${line}\n`;
  }
  return out;
}

async function runInstaller(): Promise<{ code: number; output: string }> {
  const container = await engine.docker.createContainer({
    Image: LOCAL_IMAGES.procfile,
    Cmd: ['bash', '-c', SCRIPT],
    Env: [`DOTENV=${DOTENV}`],
    Labels: { [LABEL_APP]: appName, 'pier.test': '1' },
    HostConfig: { NetworkMode: 'none', Binds: [`${REPO_ROOT.replace(/\/$/, '')}:/opt/pier:ro`] },
  });
  await container.start();
  const { StatusCode } = await container.wait();
  const logs = await container.logs({ stdout: true, stderr: true, follow: false });
  // The multiplexed stream: an 8-byte header before each chunk.
  let output = '';
  for (let at = 0; at + 8 <= logs.length; ) {
    const size = logs.readUInt32BE(at + 4);
    output += logs.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
  }
  await container.remove({ force: true });
  return { code: StatusCode, output };
}

describe('the installer, run as root in a throwaway container', () => {
  it('gives the proxy a user and an environment of its own, and rewrites it when .env changes', async () => {
    const { code, output } = await runInstaller();
    expect(code, output).toBe(0);
    const out = sections(output);

    expect(out.first).toContain('[install-service] creating the system user pier-proxy');
    expect(out.owners?.trim().split('\n')).toEqual([
      '/srv/pier/.env pier:pier 600',
      '/etc/pier root:pier-proxy 750',
      '/etc/pier/proxy.env root:pier-proxy 640',
      '/var/lib/pier-proxy pier-proxy:pier-proxy 750',
      '/var/lib/pier/backups pier:pier 750',
      '/run/pier pier:pier 750',
    ]);
    expect(out.reads?.trim().split('\n')).toEqual([
      'pier reads /srv/pier/.env: yes',
      'pier reads /etc/pier/proxy.env: no',
      'pier-proxy reads /srv/pier/.env: no',
      'pier-proxy reads /etc/pier/proxy.env: yes',
    ]);
    expect(out.unit?.trim().split('\n')).toEqual(['User=pier-proxy', 'Group=pier-proxy', 'EnvironmentFile=/etc/pier/proxy.env']);

    const proxyEnv = parseEnvironmentFile(out['proxy.env'] ?? '');
    expect(proxyEnv).toEqual({
      DATABASE_URL: PROXY_URL,
      PIER_PROXY_DATABASE_URL: PROXY_URL,
      PIER_PROXY_KEY: 'proxy-key',
      PIER_HTTP_PORT: '80',
      PIER_PROXY_SNAPSHOT: '/var/lib/pier-proxy/proxy-routes.json',
    });

    // Idempotent; a changed .env is carried over.
    expect(out.second).toContain('the units in /etc/systemd/system are up to date');
    expect(out.second).not.toContain('wrote /etc/pier/proxy.env');
    expect(out.third).toContain('wrote /etc/pier/proxy.env');
    expect(parseEnvironmentFile(out['proxy.env again'] ?? '').PIER_HTTP_PORT).toBe('8080');
  }, 120_000);
});
