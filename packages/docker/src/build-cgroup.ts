import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Dockerode from 'dockerode';

/** The cgroup every build's RUN containers are created under (the build API's `cgroupparent`). */
export const BUILD_CGROUP = 'pier-builds';

/** Where builds' process limit lives, or why there is none. */
export type BuildCgroup = { parent: string } | { problem: string };

/**
 * Prepares the parent cgroup that carries builds' process limit: the build
 * API has a memory and CPU limit but no `pidslimit`, so RUN containers are
 * created under `/pier-builds`, whose `pids.max` caps the processes of all of
 * this host's builds together (a fork bomb fails its own build, not the
 * host). Works with Docker's cgroupfs driver (cgroup v1 and v2), from a process
 * that sees the host's cgroup filesystem at `cgroupRoot`; with the systemd
 * driver it reports the problem instead.
 *
 * A limit already in place (set by root, e.g. the worker's `prepare-host`) is
 * only read: the worker under its systemd unit, which may not write cgroups,
 * needs nothing more, since the Engine creates the builds' cgroups under it.
 */
export async function prepareBuildCgroup(docker: Dockerode, pids: number, cgroupRoot = '/sys/fs/cgroup'): Promise<BuildCgroup> {
  const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
  if (info.CgroupDriver !== 'cgroupfs') {
    return { problem: `builds have no process limit: Docker's cgroup driver is ${info.CgroupDriver ?? 'unknown'}, not cgroupfs` };
  }
  const v2 = info.CgroupVersion === '2';
  const directory = v2 ? join(cgroupRoot, BUILD_CGROUP) : join(cgroupRoot, 'pids', BUILD_CGROUP);
  const limit = join(directory, 'pids.max');
  const parent = { parent: `/${BUILD_CGROUP}` };
  if ((await currentLimit(limit)) === String(pids)) return parent;
  try {
    await mkdir(directory, { recursive: true });
    if (v2 && !(await exists(limit))) {
      // The pids controller must be enabled for the root's children (Docker enables it for its own).
      await writeFile(join(cgroupRoot, 'cgroup.subtree_control'), '+pids');
    }
    await writeFile(limit, String(pids));
  } catch (error) {
    const current = await currentLimit(limit);
    const found = current === undefined ? '' : ` (it is ${current})`;
    return {
      problem:
        `builds have no process limit: cannot set ${limit} to ${pids}${found}: ${(error as Error).message}; ` +
        "set it as root (the worker's prepare-host command does)",
    };
  }
  return parent;
}

/** What `pids.max` holds (a number, or `max`); undefined when it cannot be read. */
async function currentLimit(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
