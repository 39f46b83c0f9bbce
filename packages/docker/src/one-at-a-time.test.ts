import { describe, expect, it } from 'vitest';
import { OneAtATime } from './one-at-a-time.ts';

/** A task that records its start and end and finishes when `release` is called. */
function gatedTask(name: string, events: string[]) {
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const task = async (): Promise<string> => {
    events.push(`start ${name}`);
    await gate;
    events.push(`end ${name}`);
    return name;
  };
  return { task, release };
}

const never = new AbortController().signal;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('OneAtATime', () => {
  it('runs the tasks of one key in order, each after the one before ended', async () => {
    const queue = new OneAtATime();
    const events: string[] = [];
    const a = gatedTask('a', events);
    const b = gatedTask('b', events);
    const first = queue.run('k', never, a.task);
    const second = queue.run('k', never, b.task);
    await tick();
    expect(events).toEqual(['start a']);
    b.release();
    a.release();
    expect(await Promise.all([first, second])).toEqual(['a', 'b']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('runs tasks of different keys side by side', async () => {
    const queue = new OneAtATime();
    const events: string[] = [];
    const a = gatedTask('a', events);
    const b = gatedTask('b', events);
    const both = Promise.all([queue.run('k', never, a.task), queue.run('other', never, b.task)]);
    await tick();
    expect(events).toEqual(['start a', 'start b']);
    a.release();
    b.release();
    await both;
  });

  it('goes on after a failed task', async () => {
    const queue = new OneAtATime();
    await expect(queue.run('k', never, () => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    expect(await queue.run('k', never, async () => 'next')).toBe('next');
  });

  it('a task whose signal aborts while it waits gives up, and the next still waits for the running one', async () => {
    const queue = new OneAtATime();
    const events: string[] = [];
    const a = gatedTask('a', events);
    const c = gatedTask('c', events);
    const abort = new AbortController();
    const first = queue.run('k', never, a.task);
    const waiting = queue.run('k', abort.signal, async () => 'b');
    const third = queue.run('k', never, c.task);
    abort.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    await tick();
    expect(events).toEqual(['start a']);
    a.release();
    c.release();
    expect(await Promise.all([first, third])).toEqual(['a', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start c', 'end c']);
  });
});
