import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ValidationError } from '@pier/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapes, inspectCheckout } from './checkout-guard.ts';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pier-guard-'));
  mkdirSync(join(root, 'repo/a/b'), { recursive: true });
  writeFileSync(join(root, 'repo/file'), '12345');
  writeFileSync(join(root, 'repo/a/b/deep'), '123');
  writeFileSync(join(root, 'outside'), 'secret');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function link(path: string, target: string): string {
  const full = join(root, 'repo', path);
  mkdirSync(dirname(full), { recursive: true });
  symlinkSync(target, full);
  return full;
}

describe('escapes', () => {
  it.each<[string, Record<string, string>, string, boolean]>([
    ['sibling file', {}, 'l -> file', false],
    ['into a subdirectory', {}, 'l -> a/b/deep', false],
    ['up within the repository', {}, 'a/b/l -> ../../file', false],
    ['the repository root itself', {}, 'self -> .', false],
    ['dangling, inside', {}, 'l -> missing/x', false],
    ['through another inside link', { 'a/to-b': 'b' }, 'l -> a/to-b/deep', false],
    ['absolute /etc/passwd', {}, 'l -> /etc/passwd', true],
    ['parent directory', {}, 'l -> ..', true],
    ['../outside', {}, 'l -> ../outside', true],
    ['deep escape', {}, 'a/b/l -> ../../../outside', true],
    ['escape then back in', {}, 'l -> ../repo/file', true],
    ['a link that points up, then .. from there', { 'a/b/up': '../..' }, 'a/b/l -> up/../outside', true],
    ['through an absolute link', { abs: '/tmp' }, 'l -> abs/x', true],
    ['a loop', { loop1: 'loop2', loop2: 'loop1' }, 'l -> loop1', true],
  ])('%s', async (_, others, spec, expected) => {
    for (const [path, target] of Object.entries(others)) link(path, target);
    const [path = '', target = ''] = spec.split(' -> ');
    expect(await escapes(join(root, 'repo'), link(path, target))).toBe(expected);
  });
});

describe('inspectCheckout', () => {
  it('sums regular file bytes, not links', async () => {
    link('l', 'file');
    expect(await inspectCheckout(join(root, 'repo'), 100)).toBe(8);
  });

  it('refuses more than maxBytes', async () => {
    await expect(inspectCheckout(join(root, 'repo'), 7)).rejects.toThrow(/larger than the limit of 7 bytes/);
  });

  it('names an escaping link with a ValidationError on "repository"', async () => {
    link('a/b/evil', '../../../outside');
    const error = await inspectCheckout(join(root, 'repo'), 100).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'repository', message: 'symlink "a/b/evil" points outside the repository' });
  });
});
