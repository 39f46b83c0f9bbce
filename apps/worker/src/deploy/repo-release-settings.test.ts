import { parseRepoConfig, type RepoSettings, repoConfigFor } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from './replica-spec.ts';
import {
  MAX_PROCESS_TYPES,
  releaseLimits,
  releaseProcesses,
  releaseTimeoutMs,
  repoReleaseSettings,
} from './repo-release-settings.ts';

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

describe('releaseProcesses', () => {
  const none = file({});
  it.each<[string, ReturnType<typeof file>, RepoSettings | null, Record<string, string | null>, string]>([
    ['nothing declared: one web', none, null, { web: null }, 'default'],
    [
      'a Procfile: its types, web on the image’s command',
      none,
      { pierJson: null, procfileProcesses: { web: 'gunicorn app:app', worker: 'celery worker' } },
      { web: null, worker: 'celery worker' },
      'Procfile',
    ],
    [
      'a Procfile with only a worker (a Dockerfile or package.json starts web): web stays',
      none,
      { pierJson: null, procfileProcesses: { worker: 'node worker.js' } },
      { web: null, worker: 'node worker.js' },
      'Procfile',
    ],
    [
      'a generated image from a Procfile without web: no web',
      none,
      { pierJson: null, procfileProcesses: { worker: './work' }, procfileWebless: true },
      { worker: './work' },
      'Procfile',
    ],
    [
      'pier.json wins, and may name web’s command',
      file({ processes: { web: 'node server.js', clock: 'node clock.js' } }),
      { pierJson: null, procfileProcesses: { worker: 'x' } },
      { web: 'node server.js', clock: 'node clock.js' },
      'pier.json',
    ],
    [
      'pier.json listing only a worker keeps the image’s web',
      file({ processes: { worker: 'node worker.js' } }),
      null,
      { web: null, worker: 'node worker.js' },
      'pier.json',
    ],
  ])('%s', (_what, settings, repo, processes, source) => {
    expect(releaseProcesses(settings, repo)).toEqual({ processes, source });
  });

  it(`refuses more than ${MAX_PROCESS_TYPES} types, naming processes`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_PROCESS_TYPES }, (_, i) => [`w${i}`, 'x']));
    expect(() => releaseProcesses(none, { pierJson: null, procfileProcesses: many })).toThrow(
      expect.objectContaining({ field: 'processes', message: expect.stringContaining('at most 10') }),
    );
  });
});
