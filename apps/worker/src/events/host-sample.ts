import { stat, statfs } from 'node:fs/promises';
import { readHostResources } from '@pier/config';
import type { HostSample } from '@pier/core';

/** Size and free space (as an unprivileged writer sees it, like df) of the filesystem holding `path`, and its device. */
async function diskOf(path: string): Promise<{ device: number; totalBytes: number; freeBytes: number }> {
  const [device, space] = await Promise.all([stat(path), statfs(path)]);
  return { device: device.dev, totalBytes: space.blocks * space.bsize, freeBytes: space.bavail * space.bsize };
}

/**
 * The host as the alert watch reads it: memory from /proc/meminfo (as the
 * capacity guard reads it), and the disks of `/` and of Docker's data root
 * (the one the Engine reports; left out when it is on the same filesystem
 * as `/`, or cannot be read from here).
 */
export async function readHostSample(options: { dockerRoot?: () => Promise<string | null> } = {}): Promise<HostSample> {
  const { memoryTotalBytes, memoryAvailableBytes } = await readHostResources({ paths: [] });
  const root = await diskOf('/');
  const disks = [{ name: '/', totalBytes: root.totalBytes, freeBytes: root.freeBytes }];
  const dockerRoot = await options.dockerRoot?.().catch(() => null);
  const docker = dockerRoot ? await diskOf(dockerRoot).catch(() => null) : null;
  if (docker && docker.device !== root.device) {
    disks.push({ name: "Docker's data root", totalBytes: docker.totalBytes, freeBytes: docker.freeBytes });
  }
  return { memoryTotalBytes, memoryAvailableBytes, disks };
}
