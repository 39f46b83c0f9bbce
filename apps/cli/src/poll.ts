import { sleep } from './api-client.ts';

export interface PollOptions<T> {
  /** Reads the thing waited for (one API call). */
  read: () => Promise<T>;
  /** True once it is where it will stay. */
  done: (value: T) => boolean;
  /** The progress word(s) of a value; each change is passed to `onProgress`. */
  describe: (value: T) => string;
  onProgress: (text: string) => void;
  signal: AbortSignal;
  intervalMs?: number;
}

/**
 * Reads until `done`, reporting each change of `describe` once. Resolves to
 * the last value, or undefined when `signal` aborted (Ctrl-C): the caller
 * says how to pick the wait up again; nothing on the server is cancelled.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<T | undefined> {
  let shown: string | undefined;
  for (;;) {
    let value: T;
    try {
      value = await options.read();
    } catch (err) {
      if (options.signal.aborted) return undefined;
      throw err;
    }
    const text = options.describe(value);
    if (text !== shown) options.onProgress(text);
    shown = text;
    if (options.done(value)) return value;
    // sleep() only hears an abort that comes while it waits.
    if (options.signal.aborted) return undefined;
    await sleep(options.intervalMs ?? 1000, options.signal);
    if (options.signal.aborted) return undefined;
  }
}
