import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceFetcher } from './git-source-fetcher.ts';
import { TestGitRepository } from './testing/git-repository.ts';

/**
 * A small push of one large, very compressible file: 300 MB of one letter packs
 * to a few hundred KB, so neither the transfer nor the pack says anything about
 * the checkout. The limit must be enforced before the file is written. (Not
 * zeros: git checks runs of zeros out as holes, which a disk watch would miss.)
 */

const MB = 1024 * 1024;
const BLOB_BYTES = 300 * MB;
const LIMIT_BYTES = 100 * MB;

let scratch: string;
let repo: TestGitRepository;
let big: string;
let attributes: string;
let manyEmpty: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'pier-checkout-size-'));
  repo = new TestGitRepository(scratch);
  const large = join(repo.work, 'large.txt');
  const megabyte = Buffer.alloc(MB, 'a');
  writeFileSync(large, '');
  for (let written = 0; written < BLOB_BYTES; written += MB) appendFileSync(large, megabyte);
  big = repo.commit({ Dockerfile: 'FROM scratch\n' }, 'one large file of one letter');
  rmSync(large); // the next commit goes without it
  // 1 MB of newlines that `eol=crlf` would double, and `$Id$`s that `ident` would grow 12-fold: checked out verbatim.
  attributes = repo.commit(
    { '.gitattributes': '* text eol=crlf ident\n', 'lines.txt': '\n'.repeat(MB), 'ids.txt': '$Id$\n'.repeat(MB / 8) },
    'attributes that would grow the checkout',
  );
  // No bytes at all, but a block and an inode each.
  manyEmpty = repo.commit(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`empty/${i}`, ''])), 'many empty files');
  repo.push();
}, 120_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Bytes allocated on disk under `path` (st_blocks, so sparse and partly written files count as they are). */
async function allocatedBytes(path: string): Promise<number> {
  const stats = await lstat(path).catch(() => undefined);
  if (!stats) return 0;
  let bytes = stats.blocks * 512;
  if (stats.isDirectory()) {
    const entries = await readdir(path).catch(() => []);
    for (const entry of entries) bytes += await allocatedBytes(join(path, entry));
  }
  return bytes;
}

/** Polls the allocated size of `directory` until `work` settles; returns its outcome and the largest size seen. */
async function watchPeak<T>(directory: string, work: Promise<T>): Promise<{ outcome: T | Error; peak: number; samples: number }> {
  let done = false;
  const outcome = work.then(
    (value) => value,
    (err: Error) => err,
  );
  void outcome.finally(() => {
    done = true;
  });
  let peak = 0;
  let samples = 0;
  while (!done) {
    peak = Math.max(peak, await allocatedBytes(directory));
    samples++;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  peak = Math.max(peak, await allocatedBytes(directory));
  return { outcome: await outcome, peak, samples };
}

describe('GitSourceFetcher.fetch: the checkout size is known before it is written', () => {
  it('refuses 300 MB of one letter over a 100 MB limit, and the work directory never grows past a few MB', async () => {
    const directory = join(scratch, 'checkout-big');
    const fetcher = new GitSourceFetcher({ allowFileUrls: true, tempDirectory: scratch });
    const { outcome, peak, samples } = await watchPeak(
      directory,
      fetcher.fetch({ repo: { cloneUrl: repo.url }, sha: big, directory, maxBytes: LIMIT_BYTES }),
    );
    expect(samples).toBeGreaterThan(1);
    // The fetched pack (the letter compresses about 1000-fold) and git's metadata: never the blob itself.
    expect(peak).toBeLessThan(10 * MB);
    expect(outcome).toBeInstanceOf(ValidationError);
    expect(outcome).toMatchObject({ field: 'repository' });
    expect((outcome as Error).message).toBe(
      `the checkout is larger than the limit of ${LIMIT_BYTES} bytes (its files hold at least ${BLOB_BYTES + 'FROM scratch\n'.length} bytes)`,
    );
    expect(readdirSync(directory)).toEqual([]);
  }, 120_000);

  it('checks files out verbatim, whatever .gitattributes asks, so the tree size is the checkout size', async () => {
    const directory = join(scratch, 'checkout-attributes');
    const fetcher = new GitSourceFetcher({ allowFileUrls: true, tempDirectory: scratch });
    const files = ['.gitattributes', 'Dockerfile', 'lines.txt', 'ids.txt'];
    const expected = '* text eol=crlf ident\n'.length + 'FROM scratch\n'.length + MB + (MB / 8) * '$Id$\n'.length;
    // Under 2 MB as committed; over 3 MB had the attributes been applied.
    const fetched = await fetcher.fetch({ repo: { cloneUrl: repo.url }, sha: attributes, directory, maxBytes: 3 * MB });
    expect(readdirSync(directory).sort()).toEqual(files.sort());
    expect(fetched.bytes).toBe(expected);
  }, 60_000);

  it('counts each file as at least one 4 KiB block: 3000 empty files are refused over a 4 MB limit, before checkout', async () => {
    const directory = join(scratch, 'checkout-many');
    const fetcher = new GitSourceFetcher({ allowFileUrls: true, tempDirectory: scratch });
    const outcome = await fetcher
      .fetch({ repo: { cloneUrl: repo.url }, sha: manyEmpty, directory, maxBytes: 4 * MB })
      .catch((err: Error) => err);
    expect(outcome).toBeInstanceOf(ValidationError);
    expect((outcome as Error).message).toMatch(/files take at least \d+ bytes of disk in 4 KiB blocks/);
    expect(readdirSync(directory)).toEqual([]);
  }, 60_000);
});
