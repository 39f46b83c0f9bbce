import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { proxyConfigSchema } from './proxy-schema.ts';
import { baseEnv as base } from './testing/worker-env.ts';

describe('proxy tunnel settings', () => {
  it('default to a 10-minute idle timeout and 10,000 tunnels', () => {
    const config = parseConfig('proxy', proxyConfigSchema, base);
    expect([config.PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS, config.PIER_PROXY_MAX_TUNNELS]).toEqual([600_000, 10_000]);
    expect(
      parseConfig('proxy', proxyConfigSchema, {
        ...base,
        PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: '60000',
        PIER_PROXY_MAX_TUNNELS: '50',
      }),
    ).toMatchObject({ PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: 60_000, PIER_PROXY_MAX_TUNNELS: 50 });
  });

  it.each([
    [{ PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: '500' }, 'PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS'],
    [{ PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: 'ten minutes' }, 'PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS'],
    [{ PIER_PROXY_MAX_TUNNELS: '0' }, 'PIER_PROXY_MAX_TUNNELS'],
    [{ PIER_PROXY_MAX_TUNNELS: '1.5' }, 'PIER_PROXY_MAX_TUNNELS'],
  ])('%j is refused, naming the setting', (env, key) => {
    expect(() => parseConfig('proxy', proxyConfigSchema, { ...base, ...env })).toThrow(new RegExp(key));
  });
});
