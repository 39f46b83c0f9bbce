import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildCgroup, prepareBuildCgroup } from './build-cgroup.ts';

// The real Engine's cgroup driver and version, and a cgroup root of this test's own (a plain directory laid out as
// the host's), so the host's real /pier-builds limit is left alone. Root here, like the worker of `npm run up`
// and `prepare-host`; the user nobody (with the docker group, as the systemd unit's worker) cannot write it.
const run = promisify(execFile);
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const root = mkdtempSync(join(tmpdir(), 'pier-cgroup-'));
const MODULE = fileURLToPath(new URL('./build-cgroup.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const dockerGroup = execFileSync('getent', ['group', 'docker'], { encoding: 'utf8' }).split(':')[2] as string;
let limitFile = '';

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** prepareBuildCgroup in a process of the user nobody, as the worker under its systemd unit. */
async function asNobody(pids: number): Promise<BuildCgroup> {
  const script = `const { prepareBuildCgroup } = await import(${JSON.stringify(MODULE)});
    const Dockerode = (await import('dockerode')).default;
    const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
    console.log(JSON.stringify(await prepareBuildCgroup(docker, ${pids}, ${JSON.stringify(root)})));`;
  const { stdout } = await run(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      `--groups=${dockerGroup}`,
      '--',
      process.execPath,
      '--import',
      TSX,
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: fileURLToPath(new URL('.', import.meta.url)), timeout: 30_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as BuildCgroup;
}

describe('prepareBuildCgroup', () => {
  let cgroupfs = true;
  beforeAll(async () => {
    const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
    cgroupfs = info.CgroupDriver === 'cgroupfs';
    limitFile =
      info.CgroupVersion === '2' ? join(root, 'pier-builds', 'pids.max') : join(root, 'pids', 'pier-builds', 'pids.max');
    chmodSync(root, 0o755);
  });

  it('as root: creates the cgroup and sets its pids.max', async (context) => {
    if (!cgroupfs) context.skip();
    expect(await prepareBuildCgroup(docker, 321, root)).toEqual({ parent: '/pier-builds' });
    expect(readFileSync(limitFile, 'utf8')).toBe('321');
  });

  it('not root: a limit already in place is read, not written, and no problem is reported', async (context) => {
    if (!cgroupfs) context.skip();
    expect(existsSync(limitFile)).toBe(true);
    expect(await asNobody(321)).toEqual({ parent: '/pier-builds' });
  }, 60_000);

  it('not root: another limit is a problem that says what it is and what to run', async (context) => {
    if (!cgroupfs) context.skip();
    const result = await asNobody(500);
    expect(result).toEqual({
      problem: expect.stringMatching(/cannot set .*pids\.max to 500 \(it is 321\): EACCES.*prepare-host/),
    });
    expect(readFileSync(limitFile, 'utf8')).toBe('321');
  }, 60_000);
});
