import type { DeploymentStore } from '@pier/db';
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

/**
 * Moves outbox entries into BullMQ (job id = deployment id) and, on a slower
 * timer, re-enqueues deployments that Postgres says are in flight but the
 * queue no longer knows (Redis restarted empty). Postgres is the truth.
 */
export class OutboxRelay {
  #timers: NodeJS.Timeout[] = [];
  #listener: { unlisten(): Promise<void> } | null = null;
  #running: Promise<void> = Promise.resolve();
  #stopped = true;

  constructor(private readonly options: OutboxRelayOptions) {}

  async start(): Promise<void> {
    this.#stopped = false;
    this.#timers.push(setInterval(() => this.kick(), this.options.pollIntervalMs ?? 1000));
    this.#timers.push(setInterval(() => void this.resync(), this.options.resyncIntervalMs ?? 30_000));
    try {
      this.#listener = await this.options.sql.listen('pier_outbox', () => this.kick());
    } catch (err) {
      this.options.logger.warn({ err }, 'outbox relay: LISTEN failed, polling only');
    }
    this.kick();
    void this.resync();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#listener?.unlisten().catch(() => {});
    await this.#running;
  }

  /** Relays what is pending; calls coalesce behind the one running. */
  kick(): void {
    if (this.#stopped) return;
    this.#running = this.#running.then(() => this.relayAll());
  }

  private async relayAll(): Promise<void> {
    try {
      while (!this.#stopped) {
        const moved = await this.options.deployments.relayOutbox(100, async (entry) => {
          if (!isJobName(entry.job)) throw new Error(`outbox entry ${entry.id} names unknown job ${entry.job}`);
          await this.options.queue.add(entry.job, { deploymentId: entry.deploymentId }, entry.deploymentId);
        });
        if (moved < 100) return;
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'outbox relay: queue unavailable, will retry');
    }
  }

  /** Re-adds jobs for in-flight deployments the queue has forgotten. */
  async resync(): Promise<void> {
    if (this.#stopped) return;
    try {
      const before = new Date(Date.now() - (this.options.resyncGraceMs ?? 10_000));
      const inFlight = await this.options.deployments.active(['queued', 'building', 'deploying'], before);
      for (const deployment of inFlight) {
        const job = deployment.state === 'deploying' ? 'deploy' : 'build';
        if (await this.options.queue.has(job, deployment.id)) continue;
        this.options.logger.warn({ deploymentId: deployment.id, job }, 'outbox relay: job missing from the queue, re-enqueued');
        await this.options.queue.add(job, { deploymentId: deployment.id }, deployment.id);
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'outbox relay: resync failed, will retry');
    }
  }
}
