import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesArchive, firstFileOf, passwdOwners } from './container-files.ts';

const scratch = mkdtempSync(join(tmpdir(), 'pier-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('filesArchive', () => {
  it('is a tar archive GNU tar reads: each file with its path, mode, content and root as owner', () => {
    const archive = filesArchive([
      { path: '/data/pier-redis.conf', content: 'requirepass "a:b@c"\n', mode: 0o600 },
      { path: '/etc/x.txt', content: 'é'.repeat(300), mode: 0o644 },
      { path: '/empty', content: '', mode: 0o400 },
    ]);
    expect(archive.length % 512).toBe(0);
    const listing = execFileSync('tar', ['-tv', '--numeric-owner', '-f', '-'], { input: archive }).toString();
    expect(listing.trim().split('\n')).toEqual([
      expect.stringMatching(/^-rw------- 0\/0 +20 .* data\/pier-redis\.conf$/),
      expect.stringMatching(/^-rw-r--r-- 0\/0 +600 .* etc\/x\.txt$/),
      expect.stringMatching(/^-r-------- 0\/0 +0 .* empty$/),
    ]);
    const target = join(scratch, 'out');
    mkdirSync(target);
    execFileSync('tar', ['-x', '-p', '-f', '-', '-C', target], { input: archive });
    expect(readFileSync(join(target, 'data/pier-redis.conf'), 'utf8')).toBe('requirepass "a:b@c"\n');
    expect(statSync(join(target, 'data/pier-redis.conf')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(target, 'etc/x.txt'), 'utf8')).toBe('é'.repeat(300));
  });

  it('gives a file its owner’s uid and gid; an owner the image lacks is refused, naming files', () => {
    const owners = passwdOwners(
      'root:x:0:0:root:/root:/bin/bash\npostgres:x:100:102::/var/lib/postgresql:/bin/bash\nbad:x:y:1\n',
    );
    expect([...owners.keys()]).toEqual(['root', 'postgres']);
    const archive = filesArchive([{ path: '/etc/pier/server.key', content: 'k', mode: 0o600, owner: 'postgres' }], owners);
    const listing = execFileSync('tar', ['-tv', '--numeric-owner', '-f', '-'], { input: archive }).toString();
    expect(listing).toMatch(/^-rw------- 100\/102 +1 .* etc\/pier\/server\.key$/m);
    expect(firstFileOf(archive)).toBe('k');
    expect(() => filesArchive([{ path: '/x', content: 'k', mode: 0o600, owner: 'mysql' }], owners)).toThrow(
      expect.objectContaining({ field: 'files', message: 'file /x: the image has no user "mysql"' }),
    );
  });

  it.each([
    ['relative', { path: 'data/x', mode: 0o600 }],
    ['with ..', { path: '/data/../etc/passwd', mode: 0o600 }],
    ['with .', { path: '/data/./x', mode: 0o600 }],
    ['a directory', { path: '/data/', mode: 0o600 }],
    ['with a space', { path: '/data/a b', mode: 0o600 }],
    ['too long', { path: `/${'a'.repeat(100)}`, mode: 0o600 }],
    ['a mode with setuid', { path: '/data/x', mode: 0o4755 }],
    ['a fractional mode', { path: '/data/x', mode: 1.5 }],
  ])('refuses a file %s, naming files', (_, file) => {
    expect(() => filesArchive([{ content: 'x', ...file }])).toThrow(expect.objectContaining({ field: 'files' }));
  });
});
