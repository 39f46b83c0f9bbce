import type { PendingLine } from '@pier/db';
import { describe, expect, it } from 'vitest';
import { batchOf, httpsBody, syslogFrames, syslogMessage } from './drain-messages.ts';

const line = (overrides: Partial<PendingLine> = {}): PendingLine => ({
  id: 7,
  at: new Date('2026-12-07T17:00:01.250Z'),
  appName: 'shop',
  envName: 'production',
  processType: 'web',
  replica: 'shop-production-web-1a2b',
  releaseVersion: 3,
  stream: 'stdout',
  line: 'GET / 200',
  ...overrides,
});

describe('syslogMessage', () => {
  it.each([
    [
      'stdout: severity 6, facility user',
      line(),
      '<14>1 2026-12-07T17:00:01.250Z production shop shop-production-web-1a2b web [pier@32473 release="v3" stream="stdout"] GET / 200',
    ],
    [
      'stderr: severity 3',
      line({ stream: 'stderr', line: 'boom' }),
      '<11>1 2026-12-07T17:00:01.250Z production shop shop-production-web-1a2b web [pier@32473 release="v3" stream="stderr"] boom',
    ],
    [
      "Pier's own line: severity 5",
      line({ stream: 'system', line: 'container exited' }),
      '<13>1 2026-12-07T17:00:01.250Z production shop shop-production-web-1a2b web [pier@32473 release="v3" stream="system"] container exited',
    ],
    [
      'no release: no release parameter',
      line({ releaseVersion: null, processType: 'run', replica: 'shop-production-run-x' }),
      '<14>1 2026-12-07T17:00:01.250Z production shop shop-production-run-x run [pier@32473 stream="stdout"] GET / 200',
    ],
    [
      'header fields: printable ASCII without spaces, cut to their maximum, nil when empty',
      line({ envName: '', processType: 'a b'.repeat(20), replica: 'é' }),
      `<14>1 2026-12-07T17:00:01.250Z - shop _ ${'a_b'.repeat(20).slice(0, 32)} [pier@32473 release="v3" stream="stdout"] GET / 200`,
    ],
    [
      'the message is kept as it is, brackets and quotes included',
      line({ line: 'x "y" ] \\ ü' }),
      '<14>1 2026-12-07T17:00:01.250Z production shop shop-production-web-1a2b web [pier@32473 release="v3" stream="stdout"] x "y" ] \\ ü',
    ],
  ])('%s', (_label, input, expected) => {
    expect(syslogMessage(input)).toBe(expected);
  });
});

describe('syslogFrames', () => {
  it('counts each message in bytes (UTF-8), one frame after the other', () => {
    const frames = syslogFrames([line({ line: 'ü' }), line({ id: 8, line: 'b' })]).toString('utf8');
    const first = syslogMessage(line({ line: 'ü' }));
    const second = syslogMessage(line({ id: 8, line: 'b' }));
    expect(frames).toBe(`${Buffer.byteLength(first)} ${first}${Buffer.byteLength(second)} ${second}`);
    expect(Buffer.byteLength(first)).toBe(first.length + 1);
  });
});

describe('httpsBody', () => {
  it('is a JSON array of the lines in order, with their names', () => {
    expect(JSON.parse(httpsBody([line(), line({ id: 9, stream: 'stderr', releaseVersion: null })]))).toEqual([
      {
        id: 7,
        time: '2026-12-07T17:00:01.250Z',
        app: 'shop',
        env: 'production',
        processType: 'web',
        replica: 'shop-production-web-1a2b',
        release: 3,
        stream: 'stdout',
        line: 'GET / 200',
      },
      expect.objectContaining({ id: 9, stream: 'stderr', release: null }),
    ]);
  });
});

describe('batchOf', () => {
  it.each([
    ['all when they fit', [10, 10, 10], 10_000, 3],
    ['stops before the line that would pass the limit', [300, 300, 300], 1100, 2],
    ['takes one line even when it alone is larger', [5000, 10], 1000, 1],
    ['nothing of nothing', [], 1000, 0],
  ])('%s', (_label, sizes, maxBytes, count) => {
    const lines = sizes.map((n, i) => line({ id: i, line: 'x'.repeat(n) }));
    expect(batchOf(lines, maxBytes)).toHaveLength(count);
  });
});
