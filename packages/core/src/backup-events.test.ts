import { describe, expect, it } from 'vitest';
import { type BackupFacts, backupEvent } from './backup-events.ts';

const volume: BackupFacts = {
  of: 'volume',
  backupId: 'b1',
  name: 'data',
  trigger: 'scheduled',
  state: 'good',
  error: null,
  sizeBytes: 3 * 1024 ** 2,
  appId: 'a1',
  appName: 'shop',
  environmentId: 'e1',
  envName: 'production',
};

describe('backupEvent', () => {
  const cases: [string, Partial<BackupFacts>, string, string][] = [
    [
      'a good volume backup',
      {},
      'backup.succeeded',
      'shop production: the scheduled backup of volume data is good (3.0 MiB), verified.',
    ],
    [
      'a failed one, with its cause',
      { state: 'failed', error: 'tar: exit 2', sizeBytes: null },
      'backup.failed',
      'shop production: the scheduled backup of volume data failed: tar: exit 2',
    ],
    [
      'a service of no app',
      { of: 'service', name: 'orders', trigger: 'manual', appId: null, appName: null, envName: null, environmentId: null },
      'backup.succeeded',
      'the manual backup of managed service orders is good (3.0 MiB), verified.',
    ],
  ];
  it.each(cases)('%s', (_name, change, kind, message) => {
    const event = backupEvent({ ...volume, ...change });
    expect(event).toMatchObject({ kind, message });
  });

  it('is keyed by backup and outcome, and keeps a long cause short', () => {
    const event = backupEvent({ ...volume, state: 'failed', error: 'x'.repeat(2000) });
    expect(event.dedupeKey).toBe('backup:b1:failed');
    expect(event.message.length).toBeLessThan(600);
  });
});
