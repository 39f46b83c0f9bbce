import { parseRepoConfig, repoConfigFor } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from './replica-spec.ts';
import { releaseLimits, releaseTimeoutMs, repoReleaseSettings } from './repo-release-settings.ts';

const file = (json: object, env = 'staging') => repoConfigFor(parseRepoConfig(JSON.stringify(json)), env);

describe('repoReleaseSettings', () => {
  it('records the release command from pier.json, else the Procfile, with its source', () => {
    expect(repoReleaseSettings(file({ release: 'migrate' }), { pierJson: null, procfileRelease: 'other' }).release).toEqual({
      value: { command: 'migrate' },
      source: 'pier.json',
    });
    expect(repoReleaseSettings(file({}), { pierJson: null, procfileRelease: 'rake db:migrate' }).release).toEqual({
      value: { command: 'rake db:migrate' },
      source: 'Procfile',
    });
    expect(repoReleaseSettings(file({}), null)).toEqual({});
  });

  it('records required variables and resources as the environment sees them', () => {
    const settings = repoReleaseSettings(
      file(
        { requiredVariables: ['A'], resources: { memoryMb: 256 }, environments: { production: { resources: { cpus: 2 } } } },
        'production',
      ),
      null,
    );
    expect(settings.requiredVariables).toEqual({ value: [{ name: 'A' }], source: 'pier.json' });
    expect(settings.resources).toEqual({ value: { cpus: 2 }, source: 'pier.json' });
  });
});

describe('releaseTimeoutMs and releaseLimits', () => {
  it('read what the release recorded, with the defaults otherwise', () => {
    expect(releaseTimeoutMs(repoReleaseSettings(file({ release: { command: 'x', timeoutSeconds: 30 } }), null))).toBe(30_000);
    expect(releaseTimeoutMs({})).toBe(600_000);
    expect(releaseLimits(repoReleaseSettings(file({ resources: { memoryMb: 256, cpus: 0.5 } }), null))).toEqual({
      memoryBytes: 256 * 1024 * 1024,
      nanoCpus: 500_000_000,
      pids: DEFAULT_LIMITS.pids,
    });
    expect(releaseLimits({})).toEqual(DEFAULT_LIMITS);
    const settings = repoReleaseSettings(file({ resources: { memoryMb: 256, cpus: 0.5 } }), null);
    expect(releaseLimits(settings, { memoryMb: 1024, cpus: null })).toMatchObject({
      memoryBytes: 1024 * 1024 * 1024,
      nanoCpus: 500_000_000,
    });
  });
});
