/** Minimal logger shape, so this package does not depend on pino. */
interface LifecycleLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Runs `stop` once on SIGINT or SIGTERM, then exits 0. A second signal a
 * second or more after the first (a user pressing Ctrl-C again), or a stop
 * that takes longer than `timeoutMs`, exits 1 at once. A repeat within the
 * first second is the same request arriving twice (a terminal's Ctrl-C plus a
 * supervisor forwarding it) and is ignored.
 */
export function onShutdownSignal(log: LifecycleLogger, stop: () => Promise<void>, timeoutMs = 30_000): void {
  let stoppingSince: number | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < 1000) return;
      log.error({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long, exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Prints a start-up failure without a stack trace and exits non-zero. */
export function exitOnStartupError(processName: string, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`pier ${processName}: cannot start: ${message}\n`);
  process.exit(1);
}
