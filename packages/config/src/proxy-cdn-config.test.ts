import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { proxyConfigSchema } from './proxy-schema.ts';
import { baseEnv as base } from './testing/worker-env.ts';

describe('proxy CDN settings', () => {
  it('default to compression on and a 32 MiB cache per app, 256 MiB in all, 2 MiB per entry', () => {
    expect(parseConfig('proxy', proxyConfigSchema, base)).toMatchObject({
      PIER_PROXY_COMPRESSION: true,
      PIER_PROXY_CACHE_MB_PER_APP: 32,
      PIER_PROXY_CACHE_MB_TOTAL: 256,
      PIER_PROXY_CACHE_MAX_ENTRY_KB: 2048,
    });
    expect(
      parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PROXY_COMPRESSION: 'false', PIER_PROXY_CACHE_MB_PER_APP: '0' }),
    ).toMatchObject({ PIER_PROXY_COMPRESSION: false, PIER_PROXY_CACHE_MB_PER_APP: 0 });
  });

  it.each([
    [{ PIER_PROXY_CACHE_MB_PER_APP: '-1' }, 'PIER_PROXY_CACHE_MB_PER_APP'],
    [{ PIER_PROXY_CACHE_MB_PER_APP: 'lots' }, 'PIER_PROXY_CACHE_MB_PER_APP'],
    [{ PIER_PROXY_CACHE_MB_TOTAL: '0' }, 'PIER_PROXY_CACHE_MB_TOTAL'],
    [{ PIER_PROXY_CACHE_MAX_ENTRY_KB: '1.5' }, 'PIER_PROXY_CACHE_MAX_ENTRY_KB'],
    [{ PIER_PROXY_COMPRESSION: 'maybe' }, 'PIER_PROXY_COMPRESSION'],
  ])('%j is refused, naming the setting', (env, key) => {
    expect(() => parseConfig('proxy', proxyConfigSchema, { ...base, ...env })).toThrow(new RegExp(key));
  });
});
