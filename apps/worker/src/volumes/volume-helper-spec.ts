import { type ContainerSpec, type ResourceLimits, volumeLabels } from '@pier/core';
import type { VolumeWithOwner } from '@pier/db';

/** Where a helper container sees the volume it works on. */
export const HELPER_MOUNT = '/volume';
/** Roles of the helper containers, on their `pier.role` label (swept when a dead worker left one). */
export const HELPER_ROLES = ['volume-backup', 'volume-restore'] as const;
export type HelperRole = (typeof HELPER_ROLES)[number];

const MiB = 1024 * 1024;
/** tar and find need little; the limits keep a huge volume's backup from starving the apps. */
export const HELPER_LIMITS: ResourceLimits = { memoryBytes: 256 * MiB, nanoCpus: 1_000_000_000, pids: 64 };

/**
 * A helper container that works on one volume: the tools image (a Debian
 * with tar and find), no network, the volume at /volume (read-only for a
 * backup), idle until the worker runs its commands through exec (argument
 * arrays, never a shell), then removed.
 */
export function volumeHelperSpec(input: {
  volume: Pick<VolumeWithOwner, 'id' | 'app' | 'env' | 'environmentId' | 'name' | 'dockerName'>;
  image: string;
  instance: string;
  role: HelperRole;
  suffix: string;
}): ContainerSpec {
  const { volume, role } = input;
  return {
    name: `pier-${role}-${volume.id.slice(0, 8)}-${input.suffix}`,
    image: input.image,
    env: {},
    labels: volumeLabels(volume, input.instance, role),
    containerPort: null,
    networks: ['none'],
    limits: HELPER_LIMITS,
    volumes: { [volume.dockerName]: HELPER_MOUNT },
    ...(role === 'volume-backup' ? { readOnlyVolumes: [volume.dockerName] } : {}),
    command: ['sleep', 'infinity'],
  };
}

/** `find` printing the inode and size of each regular file of the volume, one per line (`measure`). */
export const MEASURE_COMMAND = ['find', HELPER_MOUNT, '-xdev', '-type', 'f', '-printf', '%i %s\\n'];

/**
 * The volume's files and bytes from MEASURE_COMMAND's output, as a tar of it
 * counts them: every name of a regular file is a file, and the bytes of a
 * file with several names (hard links) count once, as tar stores them once.
 */
export function measuredFrom(output: string): { files: number; bytes: number } {
  const lines = output.split('\n').filter((line) => line !== '');
  const sizes = new Map<string, number>();
  for (const line of lines) {
    const [inode = '', size = '0'] = line.split(' ');
    sizes.set(inode, Number(size));
  }
  return { files: lines.length, bytes: [...sizes.values()].reduce((sum, size) => sum + size, 0) };
}
