/** What every send needs besides the channel and the message. */
export interface SendContext {
  /** Loopback ports of Pier's own services: never reached, whoever made the channel. */
  reservedPorts: readonly number[];
  /** Each send's limit, the whole of it: resolving, connecting, every command or the whole answer. */
  timeoutMs: number;
  /** Certificates trusted besides the system's (tests' receivers; an operator's CA). */
  extraCa?: readonly string[];
  /** Aborts the send when the notifier stops (the pass's signal). */
  signal?: AbortSignal;
}

/** The part of a SendContext that bounds a send. */
export type SendLimit = Pick<SendContext, 'timeoutMs' | 'signal'>;

/** Aborts once the send's overall limit is over, or at once when the notifier stops. */
export function sendDeadline(context: SendLimit): AbortSignal {
  const timeout = AbortSignal.timeout(context.timeoutMs);
  return context.signal ? AbortSignal.any([timeout, context.signal]) : timeout;
}

/** Why `deadline` aborted, as a delivery's error says it. */
export function deadlineError(context: SendLimit): Error {
  return context.signal?.aborted
    ? new Error('the notifier stopped before the receiver accepted the message')
    : new Error(`no answer within ${context.timeoutMs} ms`);
}

/**
 * `work`, or a rejection with `deadlineError` once `deadline` aborts (then
 * `onAbort` tears down what `work` holds open: a socket, a transport).
 */
export function withinDeadline<T>(
  work: Promise<T>,
  deadline: AbortSignal,
  context: SendLimit,
  onAbort: () => void = () => {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort();
      reject(deadlineError(context));
    };
    if (deadline.aborted) return abort();
    deadline.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        deadline.removeEventListener('abort', abort);
        resolve(value);
      },
      (err: unknown) => {
        deadline.removeEventListener('abort', abort);
        reject(deadline.aborted ? deadlineError(context) : err);
      },
    );
  });
}
