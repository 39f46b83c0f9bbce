import { type CapacityCheck, type ContainerSpec, createSecretMask, LABEL_ROLE, PassLoop, type Subscribe } from '@pier/core';
import type { RunRow, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { replicaSecrets } from '../deploy/replica-config.ts';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';
import { DeploymentLogWriter } from '../deployment-log-writer.ts';
import { type OneOffDeps, runOneOffContainer } from './one-off-container.ts';
import { runArgv, runEnd, runLimits } from './run-outcome.ts';

/** The label with a run's id on its container: how a container left by a dead worker is found. */
export const LABEL_RUN = 'pier.run';

export interface RunExecutorOptions extends OneOffDeps {
  stores: OneOffDeps['stores'] & Pick<Stores, 'runs' | 'releases' | 'services' | 'variables'>;
  logger: Logger;
  /** This worker's name on the runs it holds (unique per process). */
  holder: string;
  /** NOTIFY on RUNS_CHANNEL: a queued run or a cancel is seen at once. */
  wakeOn?: Subscribe;
  /** How long a claimed run is held without a renewal (renewed every third of it). Default 30 s. */
  leaseMs?: number;
  /** How often queued runs, expired locks and cancels are looked for without a NOTIFY. Default 5 s. */
  pollIntervalMs?: number;
  /** Runs this worker runs at once. Default 4. */
  concurrency?: number;
  /** The capacity guard: a run whose memory limit the host cannot hold now fails with the figures. */
  capacity?: CapacityCheck;
  /** Bytes of a run's output stored at most (PIER_DEPLOYMENT_LOG_MAX_MB). */
  logMaxBytes?: number;
}

interface ActiveRun {
  cancel: AbortController;
  done: Promise<void>;
}

/**
 * Runs queued one-off commands and cron runs: each pass claims queued runs
 * (several workers share them safely: a run is claimed by one), starts each
 * in a one-off container of its release (the environment's live release at
 * that moment unless it names one), and stores its masked output and how it
 * ended. A held run's lock is renewed while it runs; a run whose worker's
 * lock ran out is failed by whichever worker sees it, and its container
 * (found by its `pier.run` label) removed. A cancel request stops the container.
 */
export class RunExecutor {
  readonly #loop: PassLoop;
  readonly #active = new Map<string, ActiveRun>();
  #renewals: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: RunExecutorOptions) {
    this.#loop = new PassLoop({
      name: 'runs',
      intervalMs: options.pollIntervalMs ?? 5000,
      logger: options.logger,
      wakeOn: options.wakeOn,
      pass: (signal) => this.pass(signal),
    });
  }

  start(): void {
    this.#loop.start();
    this.#renewals = setInterval(() => void this.#renew(), this.#leaseMs / 3);
  }

  /** Stops claiming; the runs under way are stopped and failed (the worker is going away). */
  async stop(): Promise<void> {
    await this.#loop.stop();
    for (const run of this.#active.values()) run.cancel.abort('the worker running it was stopped');
    await Promise.all([...this.#active.values()].map((r) => r.done));
    clearInterval(this.#renewals);
  }

  kick(): void {
    this.#loop.kick();
  }

  /** Runs under way in this worker. */
  get running(): number {
    return this.#active.size;
  }

  get #leaseMs(): number {
    return this.options.leaseMs ?? 30_000;
  }

  /** Expired locks, cancels of held runs, then new claims up to the concurrency. */
  async pass(signal: AbortSignal): Promise<void> {
    const { stores, workload, instance, logger } = this.options;
    for (const run of await stores.runs.failExpired('the worker running it stopped answering; its container was removed')) {
      logger.warn({ runId: run.id, lockedBy: run.lockedBy }, 'run failed: its worker stopped renewing it');
      for (const c of await workload.list({ [LABEL_RUN]: run.id, [LABEL_INSTANCE]: instance })) {
        await workload
          .remove(c.id)
          .catch((err: unknown) => logger.warn({ err, runId: run.id }, 'could not remove a run container'));
      }
    }
    for (const [id, active] of this.#active) {
      const row = await stores.runs.get(id).catch(() => null);
      if (row?.cancelRequestedAt) active.cancel.abort('cancelled');
    }
    while (!signal.aborted && this.#active.size < (this.options.concurrency ?? 4)) {
      const run = await stores.runs.claim(this.options.holder, this.#leaseMs);
      if (!run) break;
      const cancel = new AbortController();
      logger.info(
        { runId: run.id, kind: run.kind, cron: run.cronName, slot: run.slot, holder: this.options.holder },
        'run started',
      );
      const done = this.#execute(run, cancel.signal)
        .catch((err: unknown) => logger.error({ err, runId: run.id }, 'run failed in the worker'))
        .finally(() => this.#active.delete(run.id));
      this.#active.set(run.id, { cancel, done });
    }
  }

  /** Records the limits the run gets (the reserved sum counts them) and asks the capacity guard. */
  async #admit(run: RunRow, releaseId: string, spec: ContainerSpec): Promise<void> {
    const memoryMb = Math.round(spec.limits.memoryBytes / (1024 * 1024));
    await this.options.stores.runs.setStarted(run.id, { releaseId, memoryMb, cpus: spec.limits.nanoCpus / 1e9 });
    if (!this.options.capacity) return;
    const what = run.cronName ? `cron job ${run.cronName}` : 'a one-off run';
    const decision = await this.options.capacity.check({
      kind: 'run',
      action: `${what} (${memoryMb} MiB)`,
      memoryBytes: spec.limits.memoryBytes,
      own: { runId: run.id },
      subject: { appId: run.appId, environmentId: run.environmentId },
    });
    if (!decision.ok) throw new CapacityRefusal(`not enough capacity: ${decision.reason}`);
  }

  async #renew(): Promise<void> {
    for (const [id, active] of this.#active) {
      // Renewed only while it is still this worker's (the lock's end is by Postgres's clock, as the claims read it).
      const held = await this.options.stores.runs.renew(id, this.options.holder, this.#leaseMs).catch(() => true);
      // Another worker failed it (this one did not renew in time): its container goes, and nothing more is written.
      if (!held) active.cancel.abort('lost');
    }
  }

  async #execute(run: RunRow, cancel: AbortSignal): Promise<void> {
    const { stores, holder } = this.options;
    const target = await stores.runs.target(run.environmentId);
    const releaseId = run.releaseId ?? target.liveReleaseId;
    if (!releaseId) {
      await stores.runs.finish(run.id, { state: 'failed', reason: 'the environment has no live release to run it in' }, holder);
      return;
    }
    const release = await stores.releases.get(releaseId);
    const mask = createSecretMask(await replicaSecrets(stores, run.appId, run.environmentId, release));
    const writer = {
      appendLogs: (id: string, lines: Parameters<typeof stores.runs.appendLines>[1]) => stores.runs.appendLines(id, lines),
    };
    const log = new DeploymentLogWriter(writer, run.id, { mask, maxBytes: this.options.logMaxBytes });
    try {
      await stores.runs.setStarted(run.id, { releaseId });
      log.write(`running in release v${release.version}: ${JSON.stringify(run.command)}`, 'system');
      const outcome = await runOneOffContainer(this.options, {
        target,
        release,
        command: runArgv(run.command as string | string[]),
        labels: { [LABEL_ROLE]: run.kind, [LABEL_RUN]: run.id, [LABEL_INSTANCE]: this.options.instance },
        kind: run.kind,
        limits: runLimits(run),
        timeoutMs: run.timeoutSeconds * 1000,
        log: (line, stream) => log.write(line, stream),
        cancel,
        admit: (spec) => this.#admit(run, releaseId, spec),
        started: (containerId) => stores.runs.setStarted(run.id, { releaseId, containerId }),
      });
      if (cancel.reason === 'lost') return;
      const end = runEnd(outcome, run.timeoutSeconds);
      const reason = outcome.kind === 'cancelled' && cancel.reason !== 'cancelled' ? `${cancel.reason}` : end.reason;
      const state = outcome.kind === 'cancelled' && cancel.reason !== 'cancelled' ? 'failed' : end.state;
      log.write(reason, 'system');
      await log.close();
      await stores.runs.finish(run.id, { state, exitCode: end.exitCode, reason: mask(reason) }, holder);
      this.options.logger.info({ runId: run.id, state, exitCode: end.exitCode }, 'run finished');
    } catch (err) {
      // Lost to another worker (which failed it): its result stays as that worker wrote it.
      if (cancel.reason === 'lost') return;
      log.write((err as Error).message, 'system');
      await log.close();
      await stores.runs.finish(run.id, { state: 'failed', reason: mask((err as Error).message) }, holder);
      if (!(err instanceof CapacityRefusal)) throw err;
      this.options.logger.warn({ runId: run.id, reason: err.message }, 'run refused for capacity');
    } finally {
      await log.close();
    }
  }
}

/** A run the capacity guard refused: failed with the figures, not an error of the worker. */
class CapacityRefusal extends Error {}
