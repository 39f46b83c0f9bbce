import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LoopLogger, PassLoop, type PassLoopOptions } from './pass-loop.ts';

function recordingLogger() {
  const warnings: { obj: object; msg: string }[] = [];
  const logger: LoopLogger = { debug: () => {}, info: () => {}, warn: (obj, msg) => warnings.push({ obj, msg }) };
  return { logger, warnings };
}

/** A pass that waits until released, so that a test decides when each pass ends. */
function gatedPass() {
  const releases: (() => void)[] = [];
  const signals: AbortSignal[] = [];
  let running = 0;
  let overlapped = false;
  const pass = async (signal: AbortSignal) => {
    signals.push(signal);
    running++;
    if (running > 1) overlapped = true;
    await new Promise<void>((resolve) => releases.push(resolve));
    running--;
  };
  return {
    pass,
    signals,
    get passes() {
      return signals.length;
    },
    get overlapped() {
      return overlapped;
    },
    /** Ends the pass that is running. */
    async release() {
      await vi.waitFor(() => expect(releases.length).toBeGreaterThan(0));
      releases.shift()?.();
    },
  };
}

let loops: PassLoop[] = [];
function loop(options: Partial<PassLoopOptions> & Pick<PassLoopOptions, 'pass'>) {
  const made = new PassLoop({ name: 'test', intervalMs: 60_000, logger: recordingLogger().logger, ...options });
  loops.push(made);
  return made;
}

beforeEach(() => {
  loops = [];
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(loops.map((l) => l.stop()));
});

describe('PassLoop', () => {
  it('runs a pass at start and every intervalMs', async () => {
    vi.useFakeTimers();
    const pass = vi.fn(async () => {});
    loop({ pass, intervalMs: 1000 }).start();
    await vi.advanceTimersByTimeAsync(0);
    expect(pass).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(pass).toHaveBeenCalledTimes(4);
  });

  it('coalesces kicks during a pass into one more pass, and never runs two at once', async () => {
    const gate = gatedPass();
    const l = loop({ pass: gate.pass });
    l.start();
    await vi.waitFor(() => expect(gate.passes).toBe(1));
    for (let i = 0; i < 5; i++) l.kick();
    await gate.release();
    await vi.waitFor(() => expect(gate.passes).toBe(2));
    await gate.release();
    await l.idle();
    expect(gate.passes).toBe(2);
    expect(gate.overlapped).toBe(false);
  });

  it('logs a failed pass with its error and keeps going', async () => {
    const { logger, warnings } = recordingLogger();
    const boom = new Error('boom');
    let calls = 0;
    const l = loop({
      name: 'outbox relay',
      logger,
      pass: async () => {
        calls++;
        if (calls === 1) throw boom;
      },
    });
    l.start();
    await l.idle();
    l.kick();
    await l.idle();
    expect(calls).toBe(2);
    expect(warnings).toEqual([{ obj: { err: boom }, msg: 'outbox relay pass failed' }]);
  });

  it('stop() aborts the running pass, waits for it, and ignores kicks until started again', async () => {
    const gate = gatedPass();
    const l = loop({ pass: gate.pass });
    l.start();
    await vi.waitFor(() => expect(gate.passes).toBe(1));
    let stopped = false;
    const stopping = l.stop().then(() => {
      stopped = true;
    });
    expect(gate.signals[0]?.aborted).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    await gate.release();
    await stopping;
    l.kick();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gate.passes).toBe(1);
    l.start();
    await vi.waitFor(() => expect(gate.passes).toBe(2));
    expect(gate.signals[1]?.aborted).toBe(false);
    await gate.release();
  });

  it('wakes on a notification, one pass per burst within wakeDelayMs, and unsubscribes on stop', async () => {
    vi.useFakeTimers();
    let notify: (() => void) | undefined;
    let unsubscribed = false;
    const pass = vi.fn(async () => {});
    const l = loop({
      pass,
      wakeDelayMs: 100,
      wakeOn: (onChange) => {
        notify = onChange;
        return () => {
          unsubscribed = true;
        };
      },
    });
    l.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(pass).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) notify?.();
    await vi.advanceTimersByTimeAsync(99);
    expect(pass).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pass).toHaveBeenCalledTimes(2);
    await l.stop();
    expect(unsubscribed).toBe(true);
  });

  it('says when it cannot subscribe, and polls', async () => {
    vi.useFakeTimers();
    const { logger, warnings } = recordingLogger();
    const refused = new Error('connection refused');
    const pass = vi.fn(async () => {});
    loop({
      name: 'service operator',
      logger,
      intervalMs: 500,
      pass,
      wakeOn: (_onChange, onError) => {
        onError?.(refused);
        return () => {};
      },
    }).start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(pass).toHaveBeenCalledTimes(3);
    expect(warnings).toEqual([{ obj: { err: refused }, msg: 'service operator cannot subscribe to changes; polling only' }]);
  });
});
