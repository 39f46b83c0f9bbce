import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { proxyConfigSchema } from './proxy-schema.ts';
import { baseEnv as base } from './testing/worker-env.ts';

describe('PIER_PROXY_PROCESSES', () => {
  it('is one serving process per CPU by default and with auto, or the number given', () => {
    const processes = (value?: string) =>
      parseConfig('proxy', proxyConfigSchema, value === undefined ? base : { ...base, PIER_PROXY_PROCESSES: value })
        .PIER_PROXY_PROCESSES;
    expect(processes()).toBe(Math.min(64, availableParallelism()));
    expect(processes('auto')).toBe(Math.min(64, availableParallelism()));
    expect([processes('1'), processes('3'), processes('64')]).toEqual([1, 3, 64]);
  });

  it.each(['0', '65', '1.5', 'all', '-2'])('%j is refused, naming the setting', (value) => {
    expect(() => parseConfig('proxy', proxyConfigSchema, { ...base, PIER_PROXY_PROCESSES: value })).toThrow(
      /PIER_PROXY_PROCESSES.*(whole number|auto)/,
    );
  });
});
