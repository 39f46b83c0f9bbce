import { PassLoop } from '@pier/core';
import { type DeploymentStore, listenTo, OUTBOX_CHANNEL } from '@pier/db';
import type { Logger } from '@pier/log';
import { isJobName, type JobQueue } from '@pier/queue';
import type postgres from 'postgres';

export interface OutboxRelayOptions {
  deployments: DeploymentStore;
  queue: JobQueue;
  /** For LISTEN pier_outbox: new entries are relayed at once instead of at the next poll. */
  sql: postgres.Sql;
  logger: Logger;
  pollIntervalMs?: number;
  /** How often deployments still in flight are checked against the queue (Redis may have lost them). */
  resyncIntervalMs?: number;
  /** A deployment younger than this is left to the outbox. */
  resyncGraceMs?: number;
}

/** Outbox entries moved per transaction. */
const BATCH = 100;

/**
 * Moves outbox entries into BullMQ (job id = deployment id) and, on a slower
 * timer, re-enqueues deployments that Postgres says are in flight but the
 * queue no longer knows (Redis restarted empty). Postgres is the truth.
 */
export class OutboxRelay {
  readonly #relay: PassLoop;
  readonly #resync: PassLoop;

  constructor(private readonly options: OutboxRelayOptions) {
    const { logger, sql } = options;
    this.#relay = new PassLoop({
      name: 'outbox relay',
      intervalMs: options.pollIntervalMs ?? 1000,
      wakeOn: listenTo(sql, OUTBOX_CHANNEL),
      logger,
      pass: (signal) => this.relayAll(signal),
    });
    this.#resync = new PassLoop({
      name: 'outbox resync',
      intervalMs: options.resyncIntervalMs ?? 30_000,
      logger,
      pass: () => this.resync(),
    });
  }

  async start(): Promise<void> {
    this.#relay.start();
    this.#resync.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#relay.stop(), this.#resync.stop()]);
  }

  /** Relays what is pending; calls coalesce behind the one running. */
  kick(): void {
    this.#relay.kick();
  }

  /** Moves outbox entries into the queue until none is left (or the relay stops). */
  private async relayAll(signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      const moved = await this.options.deployments.relayOutbox(BATCH, async (entry) => {
        if (!isJobName(entry.job)) throw new Error(`outbox entry ${entry.id} names unknown job ${entry.job}`);
        await this.options.queue.add(entry.job, { deploymentId: entry.deploymentId }, entry.deploymentId);
      });
      if (moved < BATCH) return;
    }
  }

  /** Re-adds jobs for in-flight deployments the queue has forgotten. */
  async resync(): Promise<void> {
    const before = new Date(Date.now() - (this.options.resyncGraceMs ?? 10_000));
    const inFlight = await this.options.deployments.active(['queued', 'building', 'deploying'], before);
    for (const deployment of inFlight) {
      const job = deployment.state === 'deploying' ? 'deploy' : 'build';
      if (await this.options.queue.has(job, deployment.id)) continue;
      this.options.logger.warn({ deploymentId: deployment.id, job }, 'outbox relay: job missing from the queue, re-enqueued');
      await this.options.queue.add(job, { deploymentId: deployment.id }, deployment.id);
    }
  }
}
