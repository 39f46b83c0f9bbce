import { readFile, stat, statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import type { HostResources } from '@pier/core';

/**
 * What this machine has, for the capacity guard: its memory from
 * /proc/meminfo and the free space of the filesystems Pier fills. It lives in
 * packages/config because the api and the worker both need it and neither
 * may import the other or packages/docker (the api holds no Docker socket),
 * while core does no I/O: like the environment this package reads, it is a
 * fact about the host a process runs on.
 */
export interface HostReaderOptions {
  /** Filesystems whose free space counts; one entry per filesystem (a path on the same one as an earlier path is left out). Default `/`. */
  paths?: readonly string[];
  /** Default /proc/meminfo; a test points it elsewhere. */
  meminfoPath?: string;
}

const KiB = 1024;

/** Reads the host's memory and the free space of `paths`; a path that cannot be read is left out. */
export async function readHostResources(options: HostReaderOptions = {}): Promise<HostResources> {
  const memory = await readMemory(options.meminfoPath ?? '/proc/meminfo');
  return { ...memory, disks: await readDisks(options.paths ?? ['/']) };
}

/** MemTotal and MemAvailable (the kernel's estimate of what it can hand out without swapping); Node's figures where there is no /proc. */
export async function readMemory(meminfoPath: string): Promise<Pick<HostResources, 'memoryTotalBytes' | 'memoryAvailableBytes'>> {
  const text = await readFile(meminfoPath, 'utf8').catch(() => '');
  const field = (name: string): number | null => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(text);
    return match ? Number(match[1]) * KiB : null;
  };
  return {
    memoryTotalBytes: field('MemTotal') ?? totalmem(),
    memoryAvailableBytes: field('MemAvailable') ?? freemem(),
  };
}

async function readDisks(paths: readonly string[]): Promise<HostResources['disks']> {
  const disks: { path: string; freeBytes: number }[] = [];
  const seen = new Set<number>();
  for (const path of paths) {
    try {
      const [device, space] = await Promise.all([stat(path), statfs(path)]);
      if (seen.has(device.dev)) continue;
      seen.add(device.dev);
      // bavail: what an unprivileged writer gets, as df shows it (the root-reserved blocks left out).
      disks.push({ path, freeBytes: space.bavail * space.bsize });
    } catch {
      // Not visible from this process (Docker's data root from a confined api): the other paths still count.
    }
  }
  return disks;
}
