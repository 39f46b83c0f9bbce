import { describe, expect, it } from 'vitest';
import {
  describePort,
  nothingListensReason,
  type RunSettingsInput,
  resolveRunSettings,
  runSettingsRecord,
} from './release-settings.ts';

const api: RunSettingsInput['api'] = {
  port: null,
  healthPath: null,
  healthIntervalMs: 2000,
  healthTimeoutMs: 2000,
  healthyThreshold: 2,
  healthDeadlineMs: 120_000,
};

describe('resolveRunSettings: the port', () => {
  it.each<[string, Partial<RunSettingsInput>, number, string]>([
    ['nothing said: 8080', {}, 8080, 'default'],
    ['the image’s one EXPOSEd port', { exposedPorts: [3000] }, 3000, 'image'],
    ['the same port exposed twice is one', { exposedPorts: [3000, 3000] }, 3000, 'image'],
    ['several EXPOSEd ports: 8080', { exposedPorts: [9229, 3000] }, 8080, 'default'],
    ['the environment over the image', { api: { ...api, port: 5000 }, exposedPorts: [3000] }, 5000, 'api'],
    [
      'pier.json over the environment',
      { api: { ...api, port: 5000 }, file: { port: 4000 }, exposedPorts: [3000] },
      4000,
      'pier.json',
    ],
    ['a pier.json without a port leaves it to the others', { file: {}, exposedPorts: [3000] }, 3000, 'image'],
  ])('%s', (_what, input, port, source) => {
    const settings = resolveRunSettings({ api, file: null, exposedPorts: [], ...input });
    expect({ port: settings.port, source: settings.sources.port }).toEqual({ port, source });
  });

  it('notes several EXPOSEd ports, and nothing otherwise', () => {
    expect(resolveRunSettings({ api, file: null, exposedPorts: [9229, 3000] }).notes).toEqual([
      'the image exposes ports 3000, 9229: the app is expected on 8080 (PORT); set "port" in pier.json or on the environment to choose one',
    ]);
    expect(resolveRunSettings({ api, file: null, exposedPorts: [3000] }).notes).toEqual([]);
  });
});

describe('resolveRunSettings: the health check', () => {
  it.each<[string, Partial<RunSettingsInput>, string | null, string]>([
    ['nothing said: automatic', {}, null, 'default'],
    ['the environment’s path', { api: { ...api, healthPath: '/up' } }, '/up', 'api'],
    ['the environment’s tcp', { api: { ...api, healthPath: 'tcp' } }, 'tcp', 'api'],
    [
      'pier.json over the environment',
      { api: { ...api, healthPath: '/up' }, file: { healthCheck: { path: '/ready' } } },
      '/ready',
      'pier.json',
    ],
    [
      'pier.json timings only: the environment’s path',
      { api: { ...api, healthPath: '/up' }, file: { healthCheck: { deadlineSeconds: 30 } } },
      '/up',
      'pier.json',
    ],
  ])('%s', (_what, input, path, source) => {
    const settings = resolveRunSettings({ api, file: null, exposedPorts: [], ...input });
    expect({ path: settings.health.path, source: settings.sources.health }).toEqual({ path, source });
  });

  it('takes timings from pier.json in seconds, else the environment’s', () => {
    const file = { healthCheck: { intervalSeconds: 1, timeoutSeconds: 3, deadlineSeconds: 30 } };
    expect(resolveRunSettings({ api, file, exposedPorts: [] }).health).toEqual({
      path: null,
      intervalMs: 1000,
      timeoutMs: 3000,
      healthyThreshold: 2,
      deadlineMs: 30_000,
    });
    expect(resolveRunSettings({ api, file: null, exposedPorts: [] }).health).toEqual({
      path: null,
      intervalMs: 2000,
      timeoutMs: 2000,
      healthyThreshold: 2,
      deadlineMs: 120_000,
    });
  });
});

describe('what a release records and says', () => {
  it('records each setting with its source', () => {
    const settings = resolveRunSettings({ api, file: { port: 4000 }, exposedPorts: [3000] });
    expect(runSettingsRecord(settings)).toEqual({
      port: { value: 4000, source: 'pier.json' },
      health: { value: settings.health, source: 'default' },
    });
  });

  it.each<[Parameters<typeof describePort>[1], string]>([
    ['image', '3000 (the image’s EXPOSE)'],
    ['pier.json', '3000 (from pier.json)'],
    ['api', '3000 (set on the environment)'],
    ['default', '3000 (the default, given to the app as PORT)'],
    [undefined, '3000'],
  ])('names the port’s source %s', (source, words) => {
    expect(describePort(3000, source)).toBe(words);
  });

  it('says what to change when nothing listens', () => {
    expect(nothingListensReason({ port: 3000, source: 'image', app: 'web', env: 'staging', seconds: 30 })).toBe(
      'nothing listens on port 3000 (the image’s EXPOSE) after 30 s: make the app listen on $PORT, or set "port" in pier.json or on the environment (PATCH /apps/web/environments/staging {"port": …})',
    );
  });
});
