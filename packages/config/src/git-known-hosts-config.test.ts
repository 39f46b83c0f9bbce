import { describe, expect, it } from 'vitest';
import { parseConfig } from './load-config.ts';
import { workerConfigSchema } from './schemas.ts';
import { baseEnv as base, workerProblems as problems } from './testing/worker-env.ts';

describe('PIER_GIT_KNOWN_HOSTS', () => {
  it("is unset by default (GitHub's keys only) and takes an absolute path", () => {
    expect(parseConfig('worker', workerConfigSchema, base).PIER_GIT_KNOWN_HOSTS).toBeUndefined();
    expect(parseConfig('worker', workerConfigSchema, { ...base, PIER_GIT_KNOWN_HOSTS: '' }).PIER_GIT_KNOWN_HOSTS).toBeUndefined();
    const config = parseConfig('worker', workerConfigSchema, { ...base, PIER_GIT_KNOWN_HOSTS: '/etc/pier/known_hosts' });
    expect(config.PIER_GIT_KNOWN_HOSTS).toBe('/etc/pier/known_hosts');
  });

  it.each(['known_hosts', '/etc/pier/known hosts', '/etc/$(x)'])('refuses %j, naming it', (path) => {
    const found = problems({ PIER_GIT_KNOWN_HOSTS: path });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^PIER_GIT_KNOWN_HOSTS: must be an absolute path/);
  });
});
