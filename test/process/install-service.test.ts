import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/processes.ts';

/**
 * The shipped systemd units as scripts/install-service.sh fills them in
 * (`--render`: no root, nothing installed): what each process may do, checked
 * setting by setting, and `systemd-analyze verify` on the result. The
 * installer's refusals are checked too; the install itself changes the
 * machine (a user, /etc), so it is not run here.
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

async function render(envText: string): Promise<{ dir: string; units: Record<string, Unit>; envFile: string }> {
  const dir = tempDir();
  const envFile = join(dir, 'pier.env');
  writeFileSync(envFile, envText);
  const out = join(dir, 'units');
  await run('bash', [INSTALLER, '--env-file', envFile, '--render', out]);
  const units: Record<string, Unit> = {};
  for (const name of ['api', 'worker', 'proxy']) {
    units[name] = parseUnit(readFileSync(join(out, `pier-${name}.service`), 'utf8'));
  }
  return { dir: out, units, envFile };
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

const ENV = [
  '# a comment PIER_WORK_DIR=/not/this',
  'DATABASE_URL=postgres://pier:x@127.0.0.1:5432/pier',
  'PIER_WORK_DIR=/srv/pier/work',
  'PIER_BACKUP_DIR="/srv/pier/backups"',
  'PIER_PROXY_SNAPSHOT=/var/lib/pier/proxy-routes.json',
  '',
].join('\n');

describe('the systemd units', () => {
  it('fills in the paths and gives each process only what it needs', async () => {
    const { units, envFile } = await render(ENV);
    const node = (await run('bash', ['-c', 'realpath "$(command -v node)"'])).stdout.trim();
    for (const [name, unit] of Object.entries(units)) {
      const service = unit.Service as Record<string, string[]>;
      expect(service.ExecStart, name).toEqual([`${node} --import tsx apps/${name}/src/main.ts`]);
      expect(service.WorkingDirectory, name).toEqual([REPO_ROOT.replace(/\/$/, '')]);
      expect(service.EnvironmentFile, name).toEqual([envFile]);
      for (const [key, value] of Object.entries({
        User: 'pier',
        Group: 'pier',
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
    expect(worker.ExecStartPre).toEqual([`+${node} --import tsx apps/worker/src/main.ts prepare-host`]);
    for (const service of [api, proxy]) expect(service.ExecStartPre).toBeUndefined();
    for (const service of [api, worker, proxy]) {
      for (const key of ['ExecStartPost', 'ExecStop', 'ExecStopPost', 'ExecReload', 'ExecCondition'])
        expect(service[key], key).toBeUndefined();
    }

    // The api's Docker socket is the worker's logs-only one, in /run/pier, which the proxy cannot see.
    for (const service of [api, worker])
      expect(service.Environment).toEqual(['PIER_DOCKER_LOGS_SOCKET=/run/pier/docker-logs.sock']);
    expect(proxy.Environment).toBeUndefined();
    expect(worker.RuntimeDirectory).toEqual(['pier']);
    expect(worker.RuntimeDirectoryMode).toEqual(['0750']);
    expect(worker.RuntimeDirectoryPreserve).toEqual(['yes']);

    // The Docker socket's group (root-equivalent) for the worker alone.
    expect(worker.SupplementaryGroups).toEqual(['docker']);
    expect(api.SupplementaryGroups).toBeUndefined();
    expect(proxy.SupplementaryGroups).toBeUndefined();

    // Writable: the worker's checkouts and backups, the proxy's snapshot directory; the api nothing.
    expect(worker.ReadWritePaths).toEqual(['/srv/pier/work /srv/pier/backups']);
    expect(proxy.ReadWritePaths).toEqual(['/var/lib/pier']);
    expect(api.ReadWritePaths).toBeUndefined();
    expect(api.InaccessiblePaths).toEqual(['-/srv/pier/backups -/srv/pier/work']);
    expect(proxy.InaccessiblePaths).toEqual(['-/srv/pier/backups -/srv/pier/work', '-/run/pier']);
    expect(worker.InaccessiblePaths).toBeUndefined();
  });

  it('a work directory under /var/tmp stays in the worker’s private /tmp; the defaults apply to what .env leaves out', async () => {
    const { units } = await render('PIER_WORK_DIR=/var/tmp/pier\n');
    expect(units.worker?.Service?.ReadWritePaths).toEqual(['/var/lib/pier/backups']);
    expect(units.proxy?.Service?.ReadWritePaths).toEqual(['/var/lib/pier']);
    expect(units.api?.Service?.InaccessiblePaths).toEqual(['-/var/lib/pier/backups']);
  });

  it('a logs socket named in .env goes into both units, when it is in /run/pier', async () => {
    const { units } = await render('PIER_DOCKER_LOGS_SOCKET=/run/pier/logs.sock\n');
    for (const name of ['api', 'worker'])
      expect(units[name]?.Service?.Environment).toEqual(['PIER_DOCKER_LOGS_SOCKET=/run/pier/logs.sock']);
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
    {
      env: 'PIER_DOCKER_LOGS_SOCKET=/var/run/docker.sock\n',
      says: /PIER_DOCKER_LOGS_SOCKET must be a file directly in \/run\/pier/,
    },
    {
      env: 'PIER_DOCKER_LOGS_SOCKET=/run/pier/../docker.sock\n',
      says: /PIER_DOCKER_LOGS_SOCKET must be a file directly in \/run\/pier/,
    },
    {
      env: 'PIER_DOCKER_LOGS_SOCKET=/run/pier/a/b.sock\n',
      says: /PIER_DOCKER_LOGS_SOCKET must be a file directly in \/run\/pier/,
    },
    {
      env: 'PIER_DOCKER_LOGS_SOCKET=/run/pier/x.sock\nPIER_DOCKER_LOGS_SOCKET=\n',
      says: /PIER_DOCKER_LOGS_SOCKET is empty in .*remove the line/,
    },
  ])('$env', async ({ env, says }) => {
    const dir = tempDir();
    const envFile = join(dir, 'pier.env');
    writeFileSync(envFile, env);
    const { code, stderr } = await refused(['--env-file', envFile, '--render', join(dir, 'units')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(says);
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
