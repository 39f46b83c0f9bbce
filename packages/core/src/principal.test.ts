import { describe, expect, it } from 'vitest';
import { ForbiddenError } from './errors.ts';
import { assertMayChangeAppSettings, type Principal } from './principal.ts';

const admin: Principal = { role: 'admin', tokenId: null };
const appToken: Principal = { role: 'app', appId: 'a1', tokenId: 't1' };

describe('assertMayChangeAppSettings', () => {
  it.each([
    [['repository'], 'repository'],
    [['forkPreviews'], 'forkPreviews'],
    [['previewDatabase'], 'previewDatabase'],
    [['defaultBranch', 'forkPreviews'], 'forkPreviews'],
  ])('refuses an app token changing %j, naming %s', (changed, field) => {
    expect(() => assertMayChangeAppSettings(appToken, changed)).toThrow(ForbiddenError);
    expect(() => assertMayChangeAppSettings(appToken, changed)).toThrow(new RegExp(`^${field}: `));
  });

  it.each([[[]], [['defaultBranch']], [['dockerfilePath', 'previewsEnabled']]])('lets an app token change %j', (changed) => {
    expect(() => assertMayChangeAppSettings(appToken, changed)).not.toThrow();
  });

  it('lets an admin change anything', () => {
    expect(() => assertMayChangeAppSettings(admin, ['repository', 'forkPreviews', 'previewDatabase'])).not.toThrow();
  });
});
