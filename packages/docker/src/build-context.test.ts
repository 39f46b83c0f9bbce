import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract, type Headers } from 'tar-fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packBuildContext } from './build-context.ts';

let directory: string;
let scratch: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'pier-context-'));
  scratch = await mkdtemp(join(tmpdir(), 'pier-context-out-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

async function files(tree: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    await mkdir(join(directory, path, '..'), { recursive: true });
    await writeFile(join(directory, path), content);
  }
}

/** The entries of the packed context, read without writing any of them out. */
async function entries(
  dockerfile = 'Dockerfile',
  extraFiles: string[] = [],
): Promise<Map<string, Headers & { linkname?: string }>> {
  const seen = new Map<string, Headers & { linkname?: string }>();
  const reader = extract(scratch, {
    ignore: (_name, header) => {
      if (header) seen.set(header.name, header);
      return true;
    },
  });
  await pipeline(await packBuildContext(directory, dockerfile, extraFiles), reader);
  return seen;
}

describe('packBuildContext', () => {
  it('sends every file, owned by root', async () => {
    await files({ Dockerfile: 'FROM x', 'src/index.js': 'x' });
    const packed = await entries();
    expect([...packed.keys()].filter((name) => name !== '.').sort()).toEqual(['Dockerfile', 'src', 'src/index.js']);
    expect(packed.get('src/index.js')).toMatchObject({ uid: 0, gid: 0, type: 'file' });
  });

  it('keeps symlinks as symlinks and never reads what they point at', async () => {
    await files({ Dockerfile: 'FROM x' });
    await symlink('/etc/passwd', join(directory, 'passwd'));
    await symlink(tmpdir(), join(directory, 'outside'));
    const packed = await entries();
    expect(packed.get('passwd')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd', size: 0 });
    expect(packed.get('outside')).toMatchObject({ type: 'symlink' });
    expect([...packed.keys()].some((name) => name.startsWith('outside/'))).toBe(false);
  });

  it('leaves out what .dockerignore excludes, but always sends the Dockerfile and .dockerignore', async () => {
    await files({
      '.dockerignore': '*\n!src\n**/*.log\n!keep/me.txt\n',
      'build/Dockerfile': 'FROM x',
      'src/a.js': 'a',
      'src/debug.log': 'x',
      'node_modules/x/index.js': 'x',
      'keep/me.txt': 'x',
      'keep/not-me.txt': 'x',
      'secret.env': 'x',
    });
    const names = [...(await entries('build/Dockerfile')).keys()].filter((name) => name !== '.' && !name.endsWith('/'));
    expect(names.sort()).toEqual(['.dockerignore', 'build', 'build/Dockerfile', 'keep', 'keep/me.txt', 'src', 'src/a.js']);
  });

  it('always sends the files Pier wrote into the context (a CA bundle), whatever .dockerignore says', async () => {
    await files({
      '.dockerignore': '*\n!src\n',
      'Dockerfile.pier': 'FROM x',
      'pier-build-ca.crt': 'pem',
      'src/a.js': 'a',
      'b.js': 'b',
    });
    const names = [...(await entries('Dockerfile.pier', ['pier-build-ca.crt'])).keys()].filter((name) => name !== '.');
    expect(names.sort()).toEqual(['.dockerignore', 'Dockerfile.pier', 'pier-build-ca.crt', 'src', 'src/a.js']);
  });
});
