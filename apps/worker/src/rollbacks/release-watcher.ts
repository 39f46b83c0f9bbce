import { decideErrorSpike } from '@pier/core';
import type { OpenWatch, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { LeasedLoop } from '../worker-lease.ts';

const LEASE = 'release-watcher';

export interface ReleaseWatcherOptions {
  stores: Pick<Stores, 'releaseWatches' | 'leases' | 'events'>;
  logger: Logger;
  /** How often the watches are judged (PIER_ROLLBACK_WATCH_INTERVAL_MS). Default 5 s. */
  intervalMs?: number;
  /** Names this worker in the lease; default host, pid and a random tail. */
  holder?: string;
  now?: () => Date;
}

/**
 * Watches each release for a while after its rollout made it live
 * (`release_watches`, begun by `RolloutStore.succeed`): every pass it reads
 * the new release's requests, 5xx and restarts since it went live and the
 * previous release's over as long before, and asks core's
 * `decideErrorSpike`. A release clearly worse than the one before is rolled
 * back as `POST …/rollback` does (a deployment of the previous release,
 * health-gated by the normal rollout), the watch keeps the reason, and a
 * `deploy.auto_rollback` event says why (notifications follow from it).
 *
 * One worker of several judges at a time (the `release-watcher` lease). The
 * decision and the rollback deployment are written in one transaction that
 * locks the environment, and only while the watched release is still live
 * and no other deployment of the environment is on its way (waiting for
 * checks, queued, building, deploying: the rollback would supersede the
 * user's fix); a watch whose release is no longer live ends as `replaced`.
 * A decision without its rollback (written by an older worker) is queued on
 * the same terms.
 */
export class ReleaseWatcher {
  readonly #loop: LeasedLoop;

  constructor(private readonly options: ReleaseWatcherOptions) {
    const intervalMs = options.intervalMs ?? 5000;
    this.#loop = new LeasedLoop(
      {
        name: LEASE,
        leases: options.stores.leases,
        intervalMs,
        // Three passes long: a worker that died stops judging, another takes over soon after.
        ttlMs: Math.max(3 * intervalMs, 3000),
        holder: options.holder,
        logger: options.logger,
      },
      () => this.pass(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** One pass: nothing unless this worker holds the lease; else queues pending rollbacks, then judges open watches. */
  async pass(): Promise<void> {
    const { stores } = this.options;
    if (!(await this.#loop.hold())) return;
    for (const watch of await stores.releaseWatches.rollbacksToQueue()) {
      await this.each(watch, () => this.queueRollback(watch, watch.reason ?? `release v${watch.version} was rolled back`));
    }
    for (const watch of await stores.releaseWatches.open()) await this.each(watch, () => this.judge(watch));
  }

  /** One watch's work: a failure is logged and the others go on (the watch is tried again next pass). */
  private async each(watch: OpenWatch, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.options.logger.warn({ err, environmentId: watch.environmentId, release: watch.version }, 'release watch failed');
    }
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  private async judge(watch: OpenWatch): Promise<void> {
    const { releaseWatches } = this.options.stores;
    if (watch.liveReleaseId !== watch.releaseId) {
      await releaseWatches.pass(watch.releaseId, 'another release is live');
      return;
    }
    if (!watch.previousReleaseId || watch.previousVersion === null) {
      await releaseWatches.pass(watch.releaseId, 'the previous release is gone: nothing to compare with or roll back to');
      return;
    }
    const windowMs = watch.until.getTime() - watch.startedAt.getTime();
    const settings = await releaseWatches.settings(watch.environmentId);
    const [figures, baseline] = await Promise.all([
      releaseWatches.figures(watch.environmentId, watch.releaseId, watch.startedAt, watch.until),
      releaseWatches.figures(
        watch.environmentId,
        watch.previousReleaseId,
        new Date(watch.startedAt.getTime() - windowMs),
        watch.startedAt,
      ),
    ]);
    const decision = decideErrorSpike({
      settings,
      release: { version: watch.version, startedAt: watch.startedAt, until: watch.until, figures },
      previous: { version: watch.previousVersion, figures: baseline },
      now: this.now(),
    });
    if (decision.kind === 'watching') return;
    if (decision.kind === 'passed') {
      if (await releaseWatches.pass(watch.releaseId)) {
        this.options.logger.info({ environmentId: watch.environmentId, release: watch.version, figures }, 'release watch passed');
      }
      return;
    }
    await this.queueRollback(watch, decision.reason);
  }

  /**
   * Rolls back (`enqueueAutoRollback`: the decision, the deployment of the
   * previous release and its id on the watch in one transaction, only while
   * the watched release is live and no other deployment of the environment
   * is on its way), then records the event.
   */
  private async queueRollback(watch: OpenWatch, decided: string): Promise<void> {
    const outcome = await this.options.stores.releaseWatches.enqueueAutoRollback(watch, decided);
    if (outcome.kind === 'in_flight') {
      this.options.logger.info(
        { environmentId: watch.environmentId, release: watch.version, reason: decided },
        'error spike: not rolling back while another deployment of the environment is on its way',
      );
    }
    if (outcome.kind !== 'queued') return;
    const { deployment } = outcome;
    const reason = watch.reason ?? decided;
    this.options.logger.warn(
      { environmentId: watch.environmentId, deploymentId: deployment.id, release: watch.version, reason },
      `rolling back to v${watch.previousVersion} on its own`,
    );
    await this.options.stores.events.record({
      kind: 'deploy.auto_rollback',
      message: `${reason}: rolling back to v${watch.previousVersion}`,
      appId: watch.appId,
      environmentId: watch.environmentId,
      envName: watch.envName,
      data: {
        release: watch.version,
        rolledBackTo: watch.previousVersion,
        deploymentId: deployment.id,
        reason,
      },
      dedupeKey: `auto-rollback:${watch.releaseId}`,
    });
  }
}
