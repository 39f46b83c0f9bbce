import { describe, expect, it } from 'vitest';
import { type EnvironmentStatus, environmentState, signals } from './environment-status.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function status(overrides: Partial<EnvironmentStatus> = {}): EnvironmentStatus {
  return {
    app: 'shop',
    environment: 'staging',
    url: 'https://shop-staging.example.com',
    health: 'ok',
    restartStreak: 0,
    nextRestartAt: null,
    desiredReplicas: 1,
    liveRelease: {
      version: 3,
      image: { id: 'sha256:1', ref: 'pier/shop:abc' },
      createdAt: '2026-01-01T11:00:00Z',
      rolledBack: null,
    },
    watch: null,
    rolledBack: null,
    requiredVariables: [],
    desiredRelease: 3,
    rollout: null,
    waitingForChecks: null,
    processes: [process('web')],
    replicas: [],
    ...overrides,
  };
}

function process(type: string, overrides: Partial<EnvironmentStatus['processes'][number]> = {}) {
  return {
    type,
    command: null,
    replicas: 1,
    running: 1,
    memoryMb: 512,
    cpus: 1,
    limitsSource: 'default',
    health: 'ok',
    restartStreak: 0,
    lastExit: null,
    ...overrides,
  };
}

describe('environmentState', () => {
  it.each([
    ['live', status(), 'live'],
    ['nothing deployed', status({ liveRelease: null }), 'not deployed'],
    ['crash-looping', status({ health: 'crash-looping' }), 'crash-looping'],
    [
      'a rollout under way',
      status({
        rollout: { deployment: 'd', from: 2, to: 3, state: 'active', reason: null, startedAt: '', finishedAt: null },
      }),
      'deploying',
    ],
  ])('%s', (_name, body, state) => {
    expect(environmentState(body)).toBe(state);
  });
});

describe('signals', () => {
  it('says nothing for a healthy environment', () => {
    expect(signals(status(), NOW)).toEqual([]);
  });

  it('names each thing that needs attention', () => {
    const body = status({
      health: 'crash-looping',
      restartStreak: 4,
      nextRestartAt: '2026-01-01T12:00:30Z',
      processes: [
        process('web', { health: 'crash-looping', restartStreak: 4 }),
        process('worker', {
          restartStreak: 2,
          running: 0,
          lastExit: { at: '2026-01-01T11:59:00Z', reason: 'out of memory at 512 MiB', exitCode: 137, oomKilled: true },
        }),
        process('cron', {
          running: 0,
          lastExit: { at: '2026-01-01T11:00:00Z', reason: 'it exited with code 1', exitCode: 1, oomKilled: false },
        }),
      ],
      rollout: {
        deployment: 'dep-1',
        from: 2,
        to: 3,
        state: 'failed',
        reason: 'no replica became healthy\u001b[31m',
        startedAt: '2026-01-01T11:50:00Z',
        finishedAt: '2026-01-01T11:55:00Z',
      },
      rolledBack: { release: 4, at: '2026-01-01T11:58:00Z', reason: 'error rate 40%', deployment: 'dep-2' },
      requiredVariables: [
        { name: 'SECRET_KEY', set: false },
        { name: 'DATABASE_URL', set: true },
      ],
      waitingForChecks: { commit: 'abcdef1234', waitingFor: ['ci/test'] },
    });
    expect(signals(body, NOW)).toEqual([
      'web is crash-looping: 4 restart(s) in a row; next restart in 30s',
      'worker keeps restarting: 2 restart(s) in a row; last exit 1m ago: out of memory at 512 MiB',
      'cron last exit 1h ago: it exited with code 1',
      'the rollout of v3 failed 5m ago: no replica became healthy',
      'v4 was rolled back automatically 2m ago: error rate 40%',
      'required variables not set (the next release is refused): SECRET_KEY',
      "a deployment of abcdef1 waits for GitHub's checks: ci/test",
    ]);
  });
});
