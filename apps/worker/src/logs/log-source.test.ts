import { describe, expect, it } from 'vitest';
import { engineNanos, logSourceOf } from './log-source.ts';

const env = '11111111-2222-3333-4444-555555555555';
const rel = '99999999-2222-3333-4444-555555555555';
const base = { 'pier.app': 'shop', 'pier.env': 'production', 'pier.environment-id': env, 'pier.release': rel };

describe('logSourceOf', () => {
  it.each([
    {
      name: 'a web replica',
      labels: { ...base, 'pier.role': 'web', 'pier.process': 'web' },
      expected: { environmentId: env, source: 'replica', processType: 'web', replica: 'c', releaseId: rel },
    },
    {
      name: 'a replica of another process type',
      labels: { ...base, 'pier.role': 'process', 'pier.process': 'worker' },
      expected: { environmentId: env, source: 'replica', processType: 'worker', replica: 'c', releaseId: rel },
    },
    {
      name: 'a release command (its replica labels say web; the role wins)',
      labels: { ...base, 'pier.role': 'release', 'pier.process': 'web' },
      expected: { environmentId: env, source: 'release', processType: 'release', replica: 'c', releaseId: rel },
    },
    {
      name: 'a one-off run',
      labels: { ...base, 'pier.role': 'run', 'pier.run': 'r1' },
      expected: { environmentId: env, source: 'run', processType: 'run', replica: 'c', releaseId: rel },
    },
    {
      name: 'a cron run without a release label',
      labels: { 'pier.environment-id': env, 'pier.role': 'cron' },
      expected: { environmentId: env, source: 'cron', processType: 'cron', replica: 'c', releaseId: null },
    },
    { name: 'a managed service', labels: { 'pier.app': 'shop', 'pier.role': 'service' }, expected: null },
    { name: 'a volume helper of an environment', labels: { ...base, 'pier.role': 'volume-backup' }, expected: null },
    { name: 'a replica without its environment id', labels: { 'pier.app': 'shop', 'pier.role': 'web' }, expected: null },
  ])('$name', ({ labels, expected }) => {
    expect(logSourceOf({ name: 'c', labels: labels as Record<string, string> })).toEqual(expected);
  });
});

describe('engineNanos', () => {
  it.each([
    ['2025-03-01T10:00:00.123456789Z', 1740823200123456789n],
    ['2025-03-01T10:00:00.5Z', 1740823200500000000n],
    ['2025-03-01T10:00:00Z', 1740823200000000000n],
    ['2025-03-01T12:00:00.000000001+02:00', 1740823200000000001n],
    ['not a time', null],
  ])('%s', (time, nanos) => {
    expect(engineNanos(time)).toBe(nanos);
  });

  it('orders timestamps that differ past the millisecond', () => {
    const a = engineNanos('2025-03-01T10:00:00.123456788Z') as bigint;
    const b = engineNanos('2025-03-01T10:00:00.123456789Z') as bigint;
    expect(a < b).toBe(true);
  });
});
