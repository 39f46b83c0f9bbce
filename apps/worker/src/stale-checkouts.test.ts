import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepStaleCheckouts } from './stale-checkouts.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('sweepStaleCheckouts', () => {
  it('removes only old build-* directories', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pier-sweep-'));
    const old = (Date.now() - 2 * 3600_000) / 1000;
    for (const name of ['build-old', 'build-new', 'other-old']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'f'), 'x');
    }
    writeFileSync(join(dir, 'build-file'), 'not a directory');
    utimesSync(join(dir, 'build-old'), old, old);
    utimesSync(join(dir, 'other-old'), old, old);
    expect(await sweepStaleCheckouts(dir, 3600_000)).toEqual(['build-old']);
    expect(['build-old', 'build-new', 'other-old', 'build-file'].map((n) => existsSync(join(dir, n)))).toEqual([
      false,
      true,
      true,
      true,
    ]);
  });
});
