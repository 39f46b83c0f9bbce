/** Why a build was stopped before it finished. */
export type StopReason = 'timeout' | 'cancelled';

/**
 * One AbortSignal for a build, fired by the caller's signal or by the timeout,
 * remembering which of the two came first.
 */
export class BuildDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = (): void => this.stop('cancelled');
  reason: StopReason | undefined;

  constructor(
    timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.stop('timeout'), timeoutMs);
    if (callerSignal?.aborted) this.stop('cancelled');
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The build is over: neither the timer nor the caller can stop it any more. */
  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }

  private stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.dispose();
    this.controller.abort(new Error(`build ${reason === 'timeout' ? 'timed out' : 'cancelled'}`));
  }
}
