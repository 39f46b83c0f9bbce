import { ConflictError, NotFoundError, ValidationError } from './errors.ts';

/** What a rollback needs to know of a release. */
export interface ReleaseVersion {
  id: string;
  version: number;
}

/**
 * Which release a rollback deploys: the one asked for (`requested`, a version
 * number), or else the newest one older than the live release. Refused: a
 * version that does not exist (404), the live release itself (422), and a
 * rollback from the first release (409).
 */
export function rollbackTarget<R extends ReleaseVersion>(releases: readonly R[], live: ReleaseVersion, requested?: number): R {
  if (requested !== undefined) {
    const target = releases.find((r) => r.version === requested);
    if (!target) throw new NotFoundError(`release v${requested} not found`);
    if (target.id === live.id) throw new ValidationError(`release: v${target.version} is already live`, 'release');
    return target;
  }
  const older = releases.filter((r) => r.version < live.version).sort((a, b) => b.version - a.version);
  const target = older[0];
  if (!target) throw new ConflictError(`release v${live.version} is the first release; there is nothing to roll back to`);
  return target;
}
