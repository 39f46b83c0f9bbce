import type { LogCursor, NewLogLine } from '@pier/db';
import { describe, expect, it } from 'vitest';
import { LogBatcher } from './log-batcher.ts';

const line = (text: string): NewLogLine => ({
  environmentId: 'e',
  at: new Date(),
  source: 'replica',
  processType: 'web',
  replica: 'r',
  releaseId: null,
  stream: 'stdout',
  line: text,
});
const cursor: LogCursor = { containerId: 'c', environmentId: 'e', since: null };

describe('LogBatcher', () => {
  it('drops a batch the store refuses for what it holds and goes on with the next; retries one that failed otherwise', async () => {
    const stored: string[][] = [];
    const dropped: number[] = [];
    let failures = ['rejected', 'transient'];
    const batcher = new LogBatcher({
      store: {
        append: async (lines) => {
          const failure = failures.shift();
          if (failure) throw Object.assign(new Error(failure), { rejected: failure === 'rejected' });
          stored.push(lines.map((l) => l.line));
        },
      },
      batchLines: 2,
      flushMs: 10,
      retryMs: 1,
      onError: () => {},
      isRejected: (err) => (err as { rejected: boolean }).rejected,
      onDropped: (_err, n) => dropped.push(n),
    });
    await batcher.add(line('a'), cursor);
    await batcher.add(line('b'), cursor); // full: written, refused, dropped
    await batcher.add(line('c'), cursor);
    await batcher.add(line('d'), cursor); // full: fails once, kept and retried
    failures = [];
    await batcher.stop();
    expect(dropped).toEqual([2]);
    expect(stored).toEqual([['c', 'd']]);
  });
});
