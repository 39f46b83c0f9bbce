import { afterEach, describe, expect, it } from 'vitest';
import { Feed, type FeedOptions, type FeedSnapshot, type FeedSource } from './feed.ts';
import type { LoopLogger } from './pass-loop.ts';

/** A source in memory: set its value, make it fail, notify its subscribers. */
class MemorySource implements FeedSource<string[]> {
  value: string[] = [];
  failing: Error | null = null;
  subscribeError: Error | null = null;
  readonly listeners = new Set<() => void>();

  async load(): Promise<string[]> {
    if (this.failing) throw this.failing;
    return [...this.value];
  }

  subscribe = (onChange: () => void, onError?: (err: unknown) => void) => {
    if (this.subscribeError) onError?.(this.subscribeError);
    else this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  };

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}

class MemorySnapshot implements FeedSnapshot<string[]> {
  readonly path = '/memory/snapshot.json';
  saved: string[][] = [];
  stored: string[] | null = null;

  async load(): Promise<string[]> {
    if (!this.stored) throw new Error('no snapshot file');
    return this.stored;
  }

  async save(value: string[]): Promise<void> {
    this.saved.push(value);
    this.stored = value;
  }
}

function recordingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  const logger: LoopLogger = { debug: at('debug'), info: at('info'), warn: at('warn') };
  return { logger, lines };
}

const feeds: Feed<string[]>[] = [];
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
});

function feed(options: Partial<FeedOptions<string[]>>) {
  const applied: [string[], string][] = [];
  const { logger, lines } = recordingLogger();
  const made = new Feed<string[]>({
    name: 'names',
    apply: (value, origin) => applied.push([value, origin]),
    logger,
    debounceMs: 10,
    retryMs: 60_000,
    ...options,
  });
  feeds.push(made);
  return { feed: made, applied, lines };
}

describe('Feed', () => {
  it('serves the snapshot when the source fails at start, then the source once it answers, saving only what changed', async () => {
    const source = new MemorySource();
    source.failing = new Error('connection refused');
    const snapshot = new MemorySnapshot();
    snapshot.stored = ['a'];
    const { feed: f, applied, lines } = feed({ source, snapshot, describe: (v) => ({ names: v.length }) });
    expect(await f.start()).toMatchObject({ origin: 'snapshot' });
    expect(applied).toEqual([[['a'], 'snapshot']]);
    expect(snapshot.saved).toEqual([]);
    expect(lines).toContainEqual({
      level: 'info',
      obj: { path: snapshot.path, names: 1 },
      msg: 'serving names from the snapshot',
    });

    // The same value from the source: not applied again, but saved (it came from the source) once.
    source.failing = null;
    source.value = ['a'];
    await f.reload();
    await f.reload();
    expect(f.status.origin).toBe('source');
    expect(f.status.lastError).toBeUndefined();
    expect(applied).toHaveLength(1);
    expect(snapshot.saved).toEqual([['a']]);

    source.value = ['a', 'b'];
    source.notify();
    await expect.poll(() => applied.at(-1)).toEqual([['a', 'b'], 'source']);
    await expect.poll(() => snapshot.saved.at(-1)).toEqual(['a', 'b']);
  });

  it('logs a failure that repeats once as a warning (with the error), then at debug level', async () => {
    const source = new MemorySource();
    const down = new Error('connection refused');
    source.failing = down;
    const { feed: f, lines } = feed({ source });
    expect(await f.start()).toMatchObject({ origin: 'none', lastError: 'connection refused' });
    await f.reload();
    await f.reload();
    const failures = lines.filter((l) => l.msg === 'cannot load names; keeping those being served');
    expect(failures.map((l) => l.level)).toEqual(['warn', 'debug', 'debug']);
    expect(failures[0]?.obj).toMatchObject({ err: down, serving: 'none' });
  });

  it('says when it cannot subscribe to changes, and still loads', async () => {
    const source = new MemorySource();
    source.value = ['x'];
    const refused = new Error('LISTEN refused');
    source.subscribeError = refused;
    const { feed: f, applied, lines } = feed({ source });
    await f.start();
    expect(applied).toEqual([[['x'], 'source']]);
    expect(lines).toContainEqual({
      level: 'warn',
      obj: { err: refused },
      msg: 'names: cannot subscribe to changes; reloading in full periodically',
    });
  });

  it('without a source, reads the snapshot alone', async () => {
    const snapshot = new MemorySnapshot();
    snapshot.stored = ['only'];
    const { feed: f, applied } = feed({ snapshot });
    expect(await f.start()).toMatchObject({ origin: 'snapshot' });
    expect(applied).toEqual([[['only'], 'snapshot']]);
  });

  it('stops following changes after stop()', async () => {
    const source = new MemorySource();
    const { feed: f } = feed({ source });
    await f.start();
    await f.stop();
    expect(source.listeners.size).toBe(0);
  });
});
