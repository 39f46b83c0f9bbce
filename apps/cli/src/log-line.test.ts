import { describe, expect, it } from 'vitest';
import { type LogLine, logLineText, replicaShort } from './commands/logs.ts';

const line: LogLine = {
  id: 1,
  at: '2026-05-01T12:00:00.000Z',
  replica: 'pier-shop-staging-v3-419402',
  process: 'web',
  release: 3,
  stream: 'stdout',
  line: 'GET /health\u001b]0;title\u0007 200',
};

describe('logLineText', () => {
  it('prefixes the time and process.replica and strips control sequences from the text', () => {
    expect(logLineText(line)).toBe('2026-05-01T12:00:00.000Z web.419402 GET /health 200');
  });

  it('passes the prefix through dim', () => {
    expect(logLineText(line, (text) => `<${text}>`)).toBe('<2026-05-01T12:00:00.000Z web.419402> GET /health 200');
  });

  it('replicaShort keeps what follows the last dash', () => {
    expect(replicaShort('pier-shop-staging-release-v3-1a2b3c')).toBe('1a2b3c');
    expect(replicaShort('plain')).toBe('plain');
  });
});
