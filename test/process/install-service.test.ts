import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { proxyConfigSchema } from '@pier/config';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.ts';
import { parseEnvironmentFile } from './systemd-environment-file.ts';

/**
 * The shipped systemd units as scripts/install-service.sh fills them in
 * (`--render`: no root, nothing installed): what each process may do, checked
 * setting by setting, and `systemd-analyze verify` on the result; and the
 * proxy's own environment file, read as systemd reads it. The installer's
 * refusals are checked too; the install itself changes the machine (users,
 * /etc), so it is not run here (test/security/proxy-own-user.test.ts runs the
 * proxy as its unit does, from the file rendered here).
 */

const run = promisify(execFile);
const INSTALLER = join(REPO_ROOT, 'scripts/install-service.sh');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pier-units-'));
  dirs.push(dir);
  return dir;
}

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax, as far as these files use it: sections, `Key=value` (repeatable), comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = unit[header[1] as string] ?? {};
      unit[header[1] as string] = section;
      continue;
    }
    const setting = /^(\w+)=(.*)$/.exec(line);
    if (!setting || !section) throw new Error(`not a unit line: ${line}`);
    const [, key, value] = setting as unknown as [string, string, string];
    section[key] = [...(section[key] ?? []), value];
  }
  return unit;
}

interface Rendered {
  dir: string;
  units: Record<string, Unit>;
  envFile: string;
  /** proxy.env's text. */
  proxyEnv: string;
}

async function render(envText: string): Promise<Rendered> {
  const dir = tempDir();
  const envFile = join(dir, 'pier.env');
  writeFileSync(envFile, envText);
  const out = join(dir, 'units');
  await run('bash', [INSTALLER, '--env-file', envFile, '--render', out]);
  const units: Record<string, Unit> = {};
  for (const name of ['api', 'worker', 'proxy']) {
    units[name] = parseUnit(readFileSync(join(out, `pier-${name}.service`), 'utf8'));
  }
  return { dir: out, units, envFile, proxyEnv: readFileSync(join(out, 'proxy.env'), 'utf8') };
}

/** The installer's exit status and stderr. */
async function refused(args: string[], options: { uid?: number } = {}): Promise<{ code: number; stderr: string }> {
  const command =
    options.uid === undefined
      ? ['bash', INSTALLER, ...args]
      : ['setpriv', `--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', 'bash', INSTALLER, ...args];
  try {
    await run(command[0] as string, command.slice(1));
    return { code: 0, stderr: '' };
  } catch (err) {
    const failure = err as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
}

const OWNER_URL = 'postgres://pier:owner-password@127.0.0.1:5432/pier';
const PROXY_URL = 'postgres://pier_proxy:proxy-password@127.0.0.1:5432/pier';
/** What the installer needs for the proxy's environment. */
const PROXY_SETTINGS = `PIER_PROXY_KEY=proxy-key\nPIER_PROXY_DATABASE_URL=${PROXY_URL}\n`;
const ENV = [
  '# a comment PIER_WORK_DIR=/not/this',
  `DATABASE_URL=${OWNER_URL}`,
  'PIER_SECRET_KEY=secret-key',
  'PIER_ADMIN_TOKEN=admin-token',
  'PIER_WORK_DIR=/srv/pier/work',
  'PIER_BACKUP_DIR="/srv/pier/backups"',
  'PIER_PROXY_SNAPSHOT=/var/lib/pier-proxy/proxy-routes.json',
  PROXY_SETTINGS,
].join('\n');

describe('the systemd units', () => {
  it('fills in the paths and gives each process only what it needs', async () => {
    const { units, envFile } = await render(ENV);
    const node = (await run('bash', ['-c', 'realpath "$(command -v node)"'])).stdout.trim();
    for (const [name, unit] of Object.entries(units)) {
      const service = unit.Service as Record<string, string[]>;
      // The compiled process, no TypeScript loader; V8 sized for the control plane, defaults for the proxy.
      const flags = name === 'proxy' ? '' : '--max-semi-space-size=2 --optimize-for-size ';
      expect(service.ExecStart, name).toEqual([`${node} ${flags}apps/${name}/dist/main.mjs`]);
      expect(service.WorkingDirectory, name).toEqual([REPO_ROOT.replace(/\/$/, '')]);
      // The internet-facing proxy: a user of its own, and not .env (PIER_SECRET_KEY, the owner's role) but its own file.
      const user = name === 'proxy' ? 'pier-proxy' : 'pier';
      expect(service.EnvironmentFile, name).toEqual([name === 'proxy' ? '/etc/pier/proxy.env' : envFile]);
      for (const [key, value] of Object.entries({
        User: user,
        Group: user,
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        Restart: 'always',
        KillSignal: 'SIGTERM',
        TimeoutStopSec: '40s',
        RestartPreventExitStatus: '78',
      })) {
        expect(service[key], `${name}: ${key}`).toEqual([value]);
      }
      expect(service.RestartSec, name).toHaveLength(1);
      expect(unit.Unit?.StartLimitIntervalSec, name).toEqual(['0']);
      expect(unit.Install?.WantedBy, name).toEqual(['multi-user.target']);
      // Nothing ties one to another: the proxy keeps serving when the others stop.
      for (const key of ['Requires', 'BindsTo', 'PartOf', 'Requisite'])
        expect(unit.Unit?.[key], `${name}: ${key}`).toBeUndefined();
      expect(unit.Unit?.After?.join(' '), name).not.toMatch(/pier-/);
    }
    const [api, worker, proxy] = ['api', 'worker', 'proxy'].map((name) => units[name]?.Service ?? {}) as [
      Record<string, string[]>,
      Record<string, string[]>,
      Record<string, string[]>,
    ];

    // Capabilities: binding 80/443 for the proxy, reading the host firewall for the worker, none for the api.
    expect(proxy.CapabilityBoundingSet).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(proxy.AmbientCapabilities).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(worker.CapabilityBoundingSet).toEqual(['CAP_NET_ADMIN']);
    expect(worker.AmbientCapabilities).toEqual(['CAP_NET_ADMIN']);
    expect(api.CapabilityBoundingSet).toEqual(['']);
    expect(api.AmbientCapabilities).toEqual(['']);

    // What needs root runs before the worker, as root ("+"), from the same clone and .env; nothing else does.
    expect(worker.ExecStartPre).toEqual([`+${node} apps/worker/dist/main.mjs prepare-host`]);
    for (const service of [api, proxy]) expect(service.ExecStartPre).toBeUndefined();
    for (const service of [api, worker, proxy]) {
      for (const key of ['ExecStartPost', 'ExecStop', 'ExecStopPost', 'ExecReload', 'ExecCondition'])
        expect(service[key], key).toBeUndefined();
    }

    // No Docker socket for the api (it reads logs from Postgres), nor any Environment= besides .env.
    for (const service of [api, worker, proxy]) expect(service.Environment).toBeUndefined();
    expect(worker.RuntimeDirectory).toEqual(['pier']);
    expect(worker.RuntimeDirectoryMode).toEqual(['0750']);
    expect(worker.RuntimeDirectoryPreserve).toEqual(['yes']);

    // The Docker socket's group (root-equivalent) for the worker alone.
    expect(worker.SupplementaryGroups).toEqual(['docker']);
    expect(api.SupplementaryGroups).toBeUndefined();
    expect(proxy.SupplementaryGroups).toBeUndefined();

    // Writable: the worker's checkouts and backups, the proxy's snapshot directory; the api nothing.
    expect(worker.ReadWritePaths).toEqual(['/srv/pier/work /srv/pier/backups']);
    expect(proxy.ReadWritePaths).toEqual(['/var/lib/pier-proxy']);
    expect(api.ReadWritePaths).toBeUndefined();
    expect(api.InaccessiblePaths).toEqual(['-/srv/pier/backups -/srv/pier/work']);
    expect(proxy.InaccessiblePaths).toEqual(['-/srv/pier/backups -/srv/pier/work', `-/run/pier -${envFile}`]);
    expect(worker.InaccessiblePaths).toBeUndefined();
  });

  it('a work directory under /var/tmp stays in the worker’s private /tmp; the defaults apply to what .env leaves out', async () => {
    const { units, proxyEnv } = await render(`PIER_WORK_DIR=/var/tmp/pier\n${PROXY_SETTINGS}`);
    expect(units.worker?.Service?.ReadWritePaths).toEqual(['/var/lib/pier/backups']);
    expect(units.proxy?.Service?.ReadWritePaths).toEqual(['/var/lib/pier-proxy']);
    expect(units.api?.Service?.InaccessiblePaths).toEqual(['-/var/lib/pier/backups']);
    // The snapshot's default is written out: the unit does not depend on the schema's.
    expect(parseEnvironmentFile(proxyEnv).PIER_PROXY_SNAPSHOT).toBe('/var/lib/pier-proxy/proxy-routes.json');
  });

  it('/run/pier exists at boot, pier’s, before the services start', () => {
    const tmpfiles = readFileSync(join(REPO_ROOT, 'deploy/systemd/pier.tmpfiles'), 'utf8');
    expect(tmpfiles.split('\n').filter((line) => line && !line.startsWith('#'))).toEqual(['d /run/pier 0750 pier pier -']);
  });

  it('systemd-analyze verify finds nothing to say about them', async () => {
    const { dir } = await render(ENV);
    const units = ['api', 'worker', 'proxy'].map((name) => join(dir, `pier-${name}.service`));
    // Exit status 0 and no warning (an unknown or misspelt setting is a warning with status 0).
    const { stdout, stderr } = await run('systemd-analyze', ['verify', ...units], { cwd: dir });
    expect(`${stdout}${stderr}`).toBe('');
  });

  it('systemd-analyze verify does catch a broken unit (so the check above can fail)', async () => {
    const dir = tempDir();
    const unit = join(dir, 'pier-broken.service');
    writeFileSync(unit, '[Service]\nUser=pier\nNoNewPrivileges=maybe\nExecStart=/nonexistent/node x\n');
    const failure = await run('systemd-analyze', ['verify', unit], { cwd: dir }).then(
      () => null,
      (err: { stderr: string }) => err,
    );
    expect(failure?.stderr).toMatch(/Failed to parse boolean value.*maybe/);
    expect(failure?.stderr).toMatch(/nonexistent\/node is not executable/);
  });
});

describe("the proxy's environment file", () => {
  const names = Object.keys(proxyConfigSchema.shape).sort();

  it('holds exactly the variables the proxy reads, its own role as DATABASE_URL, and none of .env’s secrets', async () => {
    // Every variable the proxy's schema has, and what only the api and the worker read.
    const env = [
      ...names.map((name) => `${name}=${name.toLowerCase()}-value`),
      `DATABASE_URL=${OWNER_URL}`,
      `PIER_PROXY_DATABASE_URL=${PROXY_URL}`,
      'PIER_PROXY_SNAPSHOT=/var/lib/pier-proxy/routes.json',
      'PIER_SECRET_KEY=secret-key',
      'PIER_SECRET_KEYS_PREVIOUS=old-secret-key',
      'PIER_ADMIN_TOKEN=admin-token',
      'PIER_IMAGE_NODE=node:20',
      'PIER_DOCKER_SOCKET=/var/run/docker.sock',
      '',
    ].join('\n');
    const { dir, proxyEnv } = await render(env);
    const read = parseEnvironmentFile(proxyEnv);
    expect(Object.keys(read).sort()).toEqual(names);
    expect(read.DATABASE_URL).toBe(PROXY_URL);
    expect(read.PIER_PROXY_DATABASE_URL).toBe(PROXY_URL);
    expect(read.PIER_PROXY_SNAPSHOT).toBe('/var/lib/pier-proxy/routes.json');
    expect(read.PIER_BASE_DOMAIN).toBe('pier_base_domain-value');
    for (const secret of ['secret-key', 'admin-token', 'owner-password']) expect(proxyEnv).not.toContain(secret);
    // It holds the proxy's key and role password: the rendered copy is root's alone.
    expect(statSync(join(dir, 'proxy.env')).mode & 0o777).toBe(0o600);
  });

  it('leaves out what .env leaves empty, so the defaults apply', async () => {
    const { proxyEnv } = await render(`${PROXY_SETTINGS}PIER_CONTROL_HOSTNAME=\nPIER_LOG_LEVEL=""\n`);
    expect(Object.keys(parseEnvironmentFile(proxyEnv)).sort()).toEqual([
      'DATABASE_URL',
      'PIER_PROXY_DATABASE_URL',
      'PIER_PROXY_KEY',
      'PIER_PROXY_SNAPSHOT',
    ]);
  });

  it('carries every printable value exactly as systemd reads it back', async () => {
    // As .env holds them (read as data: one pair of surrounding quotes dropped, nothing else).
    const values: Record<string, string> = {
      PIER_BASE_DOMAIN: 'spaces inside and "double" quotes',
      PIER_CONTROL_HOSTNAME: "single 'quotes' and a # hash ; semicolon",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${HOME}, which systemd must not expand.
      PIER_LOG_LEVEL: 'dollars $HOME ${HOME} $$ and back`ticks`',
      PIER_LOG_FORMAT: 'back\\slashes \\ \\" \\$ \\n \\',
      PIER_PROXY_KEY: '=leading = sign',
      PIER_PROXY_KEYS_PREVIOUS: '  surrounding spaces  ',
      PIER_PROXY_DATABASE_URL: `postgres://pier_proxy:p%40ss"$'\\#;\`w@127.0.0.1:5432/pier`,
    };
    const env = Object.entries(values).map(([name, value]) =>
      name === 'PIER_PROXY_KEYS_PREVIOUS' ? `${name}="${value}"` : `${name}=${value}`,
    );
    const { proxyEnv } = await render(`${env.join('\n')}\n`);
    const read = parseEnvironmentFile(proxyEnv);
    for (const [name, value] of Object.entries(values)) expect(read[name], name).toBe(value);
    expect(read.DATABASE_URL).toBe(values.PIER_PROXY_DATABASE_URL);
  });

  it('is rewritten from .env on every run', async () => {
    const first = await render(`${PROXY_SETTINGS}PIER_HTTP_PORT=80\n`);
    const second = await render(`${PROXY_SETTINGS}PIER_HTTP_PORT=8080\n`);
    expect(parseEnvironmentFile(first.proxyEnv).PIER_HTTP_PORT).toBe('80');
    expect(parseEnvironmentFile(second.proxyEnv).PIER_HTTP_PORT).toBe('8080');
  });
});

describe('the installer refuses', () => {
  it.each([
    { env: 'PIER_WORK_DIR=/srv/pier work\n', says: /PIER_WORK_DIR must be an absolute path .* not '\/srv\/pier work'/ },
    { env: 'PIER_BACKUP_DIR=/srv/$(id)\n', says: /PIER_BACKUP_DIR must be an absolute path/ },
    { env: 'PIER_BACKUP_DIR=/srv/../etc\n', says: /PIER_BACKUP_DIR must be an absolute path .*no \. or \.\. parts/ },
    { env: 'PIER_WORK_DIR=relative\n', says: /PIER_WORK_DIR must be an absolute path/ },
    { env: 'PIER_BACKUP_DIR=/tmp/backups\n', says: /PIER_BACKUP_DIR \(\/tmp\/backups\) is under \/tmp or \/var\/tmp/ },
    { env: 'PIER_PROXY_SNAPSHOT=/var/tmp/routes.json\n', says: /the snapshot must outlive a restart/ },
    {
      env: 'PIER_BACKUP_DIR=/home/me/backups\n',
      says: /PIER_BACKUP_DIR \(\/home\/me\/backups\) is under \/home.*ProtectHome=yes/,
    },
    { env: 'PIER_PROXY_SNAPSHOT=/var/lib/pier/backups/routes.json\n', says: /inside PIER_BACKUP_DIR or PIER_WORK_DIR/ },
    // The proxy owns its snapshots' directory: one of its own, not one the system or the other processes use.
    {
      env: `${PROXY_SETTINGS}PIER_PROXY_SNAPSHOT=/var/lib/pier/proxy-routes.json\n`,
      says: /is in \/var\/lib\/pier, which is, holds or lies in PIER_BACKUP_DIR \(\/var\/lib\/pier\/backups\).*PIER_PROXY_SNAPSHOT=\/var\/lib\/pier-proxy\/proxy-routes\.json/,
    },
    {
      env: `${PROXY_SETTINGS}PIER_PROXY_SNAPSHOT=/var/lib/proxy-routes.json\n`,
      says: /PIER_PROXY_SNAPSHOT \(\/var\/lib\/proxy-routes\.json\) is directly in \/var\/lib, which the proxy would own/,
    },
    {
      env: `${PROXY_SETTINGS}PIER_PROXY_SNAPSHOT=/srv/pier/routes.json\nPIER_WORK_DIR=/srv/pier/work\n`,
      says: /which is, holds or lies in PIER_WORK_DIR \(\/srv\/pier\/work\)/,
    },
    { env: `${PROXY_SETTINGS}PIER_PROXY_SNAPSHOT=/etc/pier/routes.json\n`, says: /which is, holds or lies in \/etc\/pier:/ },
    {
      env: `${PROXY_SETTINGS}PIER_PROXY_SNAPSHOT=/run/pier/proxy/routes.json\n`,
      says: /which is, holds or lies in \/run\/pier:/,
    },
    // The proxy's own key and role, or no install: the proxy would need .env's.
    {
      env: `PIER_PROXY_DATABASE_URL=${PROXY_URL}\n`,
      says: /has no PIER_PROXY_KEY, the proxy's own key .*npm run up adds it/,
    },
    { env: 'PIER_PROXY_KEY=\nPIER_PROXY_DATABASE_URL=x\n', says: /has no PIER_PROXY_KEY/ },
    {
      env: `DATABASE_URL=${OWNER_URL}\nPIER_PROXY_KEY=k\n`,
      says: /has no PIER_PROXY_DATABASE_URL, the proxy's own database role .*npm run up creates that role and npm run migrate grants it/,
    },
    {
      env: `DATABASE_URL=${OWNER_URL}\nPIER_PROXY_KEY=k\nPIER_PROXY_DATABASE_URL=${OWNER_URL}\n`,
      says: /PIER_PROXY_DATABASE_URL is DATABASE_URL .*a role of its own/,
    },
    // What the environment file cannot carry, named and not shown.
    {
      env: `${PROXY_SETTINGS}PIER_BASE_DOMAIN=tab\there\n`,
      says: /PIER_BASE_DOMAIN in .* holds a line break, a control or a non-ASCII character/,
    },
    {
      env: `${PROXY_SETTINGS}PIER_PROXY_KEY=k\u00e9y\n`,
      says: /PIER_PROXY_KEY in .* holds a line break, a control or a non-ASCII character/,
    },
  ])('$env', async ({ env, says }) => {
    const dir = tempDir();
    const envFile = join(dir, 'pier.env');
    writeFileSync(envFile, env);
    const { code, stderr } = await refused(['--env-file', envFile, '--render', join(dir, 'units')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(says);
    expect(stderr).not.toMatch(/proxy-password|owner-password|tab\there|k\u00e9y/);
    expect(existsSync(join(dir, 'units'))).toBe(false);
  });

  it('a missing env file', async () => {
    const { code, stderr } = await refused(['--env-file', '/nonexistent/pier.env', '--render', tempDir()]);
    expect(code).toBe(1);
    expect(stderr).toContain('no environment file at /nonexistent/pier.env');
  });

  it('to install as anyone but root', async () => {
    const dir = tempDir();
    const envFile = join(dir, 'pier.env');
    writeFileSync(envFile, ENV, { mode: 0o644 });
    chmodSync(dir, 0o755);
    const { code, stderr } = await refused(['--env-file', envFile], { uid: 65534 });
    expect(code).toBe(1);
    expect(stderr).toContain('must run as root');
  });
});
