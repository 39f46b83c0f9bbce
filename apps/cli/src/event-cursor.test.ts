import { describe, expect, it } from 'vitest';
import { EventCursor, type PierEvent } from './event-cursor.ts';

function event(id: number, at: string): PierEvent {
  return { id, at, kind: 'deploy.live', severity: 'info', app: 'shop', env: 'staging', message: `event ${id}` };
}

describe('EventCursor', () => {
  it('gives each event once, oldest first, and asks from the newest time seen', () => {
    const cursor = new EventCursor();
    expect(cursor.since).toBeUndefined();
    // The API answers newest first.
    const first = cursor.take([
      event(3, '2026-01-01T00:00:02.000Z'),
      event(2, '2026-01-01T00:00:02.000Z'),
      event(1, '2026-01-01T00:00:01.000Z'),
    ]);
    expect(first.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(cursor.since).toBe('2026-01-01T00:00:02.000Z');

    // `since` is inclusive: the events at that very time come back with the new ones.
    const second = cursor.take([
      event(4, '2026-01-01T00:00:02.000Z'),
      event(3, '2026-01-01T00:00:02.000Z'),
      event(2, '2026-01-01T00:00:02.000Z'),
    ]);
    expect(second.map((e) => e.id)).toEqual([4]);

    const third = cursor.take([event(5, '2026-01-01T00:00:05.000Z'), event(4, '2026-01-01T00:00:02.000Z')]);
    expect(third.map((e) => e.id)).toEqual([5]);
    expect(cursor.since).toBe('2026-01-01T00:00:05.000Z');
    expect(cursor.take([])).toEqual([]);
  });
});
