import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTarEntries } from './tar-entries.ts';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pier-tar-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function* once(buffer: Buffer, chunkSize: number) {
  for (let i = 0; i < buffer.length; i += chunkSize) yield buffer.subarray(i, i + chunkSize);
}

/** A tree made with `make`, archived by the system's GNU tar (as the helper container does). */
async function archive(name: string, make: (root: string) => Promise<void>, format = 'gnu'): Promise<Buffer> {
  const root = join(dir, name);
  await mkdir(root, { recursive: true });
  await make(root);
  const file = join(dir, `${name}.tar`);
  await run('tar', [`--format=${format}`, '-C', root, '-cf', file, '.']);
  return readFile(file);
}

describe('countTarEntries', () => {
  it.each([
    ['gnu', 1],
    ['gnu', 7],
    ['posix', 512],
    ['ustar', 100_000],
  ])('counts regular files and bytes of a %s archive read in %i-byte chunks', async (format, chunk) => {
    const tar = await archive(
      `tree-${format}-${chunk}`,
      async (root) => {
        await writeFile(join(root, 'a.txt'), 'hello\n');
        await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
        await writeFile(join(root, 'sub', 'deeper', `${'long-name-'.repeat(8)}.bin`), Buffer.alloc(70_000, 7));
        await writeFile(join(root, 'sub', 'empty'), '');
        await symlink('a.txt', join(root, 'link'));
        await link(join(root, 'a.txt'), join(root, 'sub', 'hard')); // a second name: a file, its bytes once
      },
      format,
    );
    expect(await countTarEntries(once(tar, chunk))).toEqual({ files: 4, bytes: 6 + 70_000 });
  });

  it('counts an empty archive', async () => {
    const tar = await archive('empty', async () => {});
    expect(await countTarEntries(once(tar, 4096))).toEqual({ files: 0, bytes: 0 });
  });

  it('refuses a truncated archive and a damaged header', async () => {
    const tar = await archive('cut', async (root) => writeFile(join(root, 'a'), Buffer.alloc(5000, 1)));
    await expect(countTarEntries(once(tar.subarray(0, 2048), 512))).rejects.toThrow('truncated');
    const damaged = Buffer.from(tar);
    damaged[600] = (damaged[600] ?? 0) ^ 0xff; // inside the second header (a's), after the root directory's
    await expect(countTarEntries(once(damaged, 512))).rejects.toThrow('checksum');
  });

  it('reads a file from disk as a stream', async () => {
    await archive('disk', async (root) => writeFile(join(root, 'x'), 'x'));
    expect(await countTarEntries(createReadStream(join(dir, 'disk.tar')))).toEqual({ files: 1, bytes: 1 });
  });
});
