import { describe, expect, it } from 'vitest';
import { pollUntil } from './poll.ts';

describe('pollUntil', () => {
  it('reads until done and reports each change once', async () => {
    const states = ['pending', 'running', 'running', 'verifying', 'good'];
    const seen: string[] = [];
    const last = await pollUntil({
      read: async () => states.shift() as string,
      done: (s) => s === 'good',
      describe: (s) => s,
      onProgress: (s) => seen.push(s),
      signal: new AbortController().signal,
      intervalMs: 1,
    });
    expect(last).toBe('good');
    expect(seen).toEqual(['pending', 'running', 'verifying', 'good']);
  });

  it('resolves to undefined once aborted, without reading again', async () => {
    const abort = new AbortController();
    let reads = 0;
    const last = await pollUntil({
      read: async () => {
        reads++;
        abort.abort();
        return 'running';
      },
      done: () => false,
      describe: (s) => s,
      onProgress: () => {},
      signal: abort.signal,
      intervalMs: 60_000,
    });
    expect(last).toBeUndefined();
    expect(reads).toBe(1);
  });
});
