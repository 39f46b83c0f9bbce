import { describe, expect, it } from 'vitest';
import { builtCommit } from './run-settings-redeploy.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('builtCommit', () => {
  it.each([
    ['a built image, pier/<app>:<sha>', `pier/shop:${SHA}`, SHA],
    ['a pulled image kept as the app’s own', 'pier/shop:pulled-6f1c2d9e-1b7a-4d8e-9c1f-2a3b4c5d6e7f', null],
    ['a prebuilt image pinned by digest', `ghcr.io/acme/web@sha256:${'ab'.repeat(32)}`, null],
    ['an image id', `sha256:${'cd'.repeat(32)}`, null],
    ['a short commit', 'pier/shop:0123456', null],
    ['upper-case hex', `pier/shop:${SHA.toUpperCase()}`, null],
  ])('%s', (_, imageRef, commit) => {
    expect(builtCommit({ imageRef })).toBe(commit);
  });
});
