import { isName } from './names.ts';
import { LABEL_APP, LABEL_ENV, LABEL_ROLE } from './ports/container-runtime.ts';

/** A volume's name: lower-case letters, digits and dashes, at most 40 characters (it is part of the Docker volume's name). */
export const VOLUME_NAME_MAX_LENGTH = 40;
export const MOUNT_PATH_MAX_LENGTH = 200;

/** What a volume never mounts over: the kernel's file systems and the image's own system directories. */
const RESERVED_MOUNT_PATHS = ['/proc', '/sys', '/dev'];
const SYSTEM_DIRECTORIES = ['/etc', '/bin', '/usr', '/lib', '/sbin'];

/** The volume's name, on its Docker volume and on the helper containers that work on it. */
export const LABEL_VOLUME = 'pier.volume';

export function volumeNameProblem(name: string): string | undefined {
  if (name.length > VOLUME_NAME_MAX_LENGTH || !isName(name)) {
    return `must start with a lower-case letter, contain only a-z, 0-9 and single dashes, not end with a dash, and be at most ${VOLUME_NAME_MAX_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Where a volume may be mounted in a replica: an absolute, normalised path of
 * at most 200 characters, not `/`, not the kernel's file systems (`/proc`,
 * `/sys`, `/dev`, or under them) and not a system directory (`/etc`, `/bin`,
 * `/usr`, `/lib`, `/sbin`, which the image's programs need); no `..`.
 */
export function mountPathProblem(path: string): string | undefined {
  if (path.length === 0 || path.length > MOUNT_PATH_MAX_LENGTH) return `must be 1 to ${MOUNT_PATH_MAX_LENGTH} characters`;
  if (!path.startsWith('/')) return 'must be an absolute path (start with /)';
  if (!/^[A-Za-z0-9._/-]+$/.test(path)) return 'may contain only letters, digits and . _ / -';
  const segments = path.slice(1).split('/');
  if (segments.includes('..')) return 'must not contain ..';
  if (segments.includes('.') || segments.includes('') || path.endsWith('/')) {
    return path === '/' ? 'must not be / (the whole filesystem)' : 'must be normalised (no ., // or trailing /)';
  }
  const under = RESERVED_MOUNT_PATHS.find((dir) => path === dir || path.startsWith(`${dir}/`));
  if (under) return `must not be ${under} or under it (the kernel's own file system)`;
  if (SYSTEM_DIRECTORIES.includes(path)) return `must not be ${path} (a system directory the image needs)`;
  return undefined;
}

/** Whether two mount paths collide: the same, or one inside the other. */
export function mountPathsOverlap(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/**
 * The Docker volume's name: `pier-vol-<app>-<env>-<name>-<suffix>`, unique
 * (the suffix, e.g. six hex digits of a random id, tells a volume from an
 * earlier namesake whose data was kept) and valid for Docker.
 */
export function volumeDockerName(app: string, env: string, name: string, suffix: string): string {
  return `pier-vol-${app}-${env}-${name}-${suffix}`;
}

/** The labels of an app volume's Docker volume (and of the helper containers that work on it). */
export function volumeLabels(
  volume: { app: string; env: string; environmentId: string; name: string },
  instance: string,
  role = 'volume',
): Record<string, string> {
  return {
    [LABEL_APP]: volume.app,
    [LABEL_ENV]: volume.env,
    [LABEL_ROLE]: role,
    [LABEL_VOLUME]: volume.name,
    'pier.environment-id': volume.environmentId,
    'pier.instance': instance,
  };
}
