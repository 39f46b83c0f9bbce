import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from './errors.ts';
import { rollbackTarget } from './rollback.ts';

const releases = [1, 2, 3, 5].map((version) => ({ id: `r${version}`, version }));
const at = (version: number) => ({ id: `r${version}`, version });

describe('rollbackTarget', () => {
  it.each([
    ['the one before the live one', at(5), undefined, 'r3'],
    ['the one before, when the live one is not the newest (after an earlier rollback)', at(3), undefined, 'r2'],
    ['the version asked for, older', at(5), 1, 'r1'],
    ['the version asked for, newer than the live one (roll forward)', at(2), 5, 'r5'],
  ])('picks %s', (_what, live, requested, id) => {
    expect(rollbackTarget(releases, live, requested).id).toBe(id);
  });

  it.each([
    ['a version that does not exist', at(5), 4, NotFoundError, 'release v4 not found'],
    ['the live release itself', at(3), 3, ValidationError, 'release: v3 is already live'],
    ['a rollback from the first release', at(1), undefined, ConflictError, 'release v1 is the first release'],
  ])('refuses %s', (_what, live, requested, type, message) => {
    expect(() => rollbackTarget(releases, live, requested)).toThrow(type);
    expect(() => rollbackTarget(releases, live, requested)).toThrow(message);
  });
});
