/**
 * Runs the tasks of one key one after another, in the order they came, within
 * this process; tasks of different keys run side by side. A task waiting for
 * its turn gives up when its signal aborts (rejecting with the signal's
 * reason) without changing the others' order, and a failed task does not hold
 * up the next.
 */
export class OneAtATime {
  /** Per key, what the next task waits for: every earlier task of it settled. */
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let finished = (): void => {};
    const mine = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const tail = Promise.all([previous, mine]).then(() => {});
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    try {
      await turn(previous, signal);
      return await task();
    } finally {
      finished();
    }
  }
}

/** Resolves when `previous` does, rejects when `signal` aborts first. */
function turn(previous: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
