import { describe, expect, it } from 'vitest';
import { cronFailedEvent } from './cron-events.ts';

describe('cronFailedEvent', () => {
  const run = {
    runId: 'r1',
    cronName: 'report',
    slot: new Date('2026-03-01T12:00:00Z'),
    reason: 'exited with code 3 after 1.2 s',
    exitCode: 3,
    appId: 'a1',
    appName: 'shop',
    environmentId: 'e1',
    envName: 'production',
  };
  it.each([
    [
      'with its slot and reason',
      run,
      'shop production: cron job report of 2026-03-01T12:00:00.000Z failed: exited with code 3 after 1.2 s',
    ],
    [
      'run by hand (no slot), no reason',
      { ...run, slot: null, reason: null },
      'shop production: cron job report failed: no reason given',
    ],
  ])('%s', (_name, facts, message) => {
    const event = cronFailedEvent(facts);
    expect(event).toMatchObject({
      kind: 'cron.failed',
      message,
      dedupeKey: 'cron.failed:r1',
      appId: 'a1',
      envName: 'production',
    });
  });
});
