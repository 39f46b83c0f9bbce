import { PassLoop } from '@pier/core';
import type { CommitCheckStore, DeploymentStore, EventStore, RunStore, WebhookDeliveryStore } from '@pier/db';
import type { Logger } from '@pier/log';

export interface RecordRetentionOptions {
  deployments: Pick<DeploymentStore, 'deleteOldLogs'>;
  deliveries: Pick<WebhookDeliveryStore, 'deleteReceivedBefore'>;
  /** GitHub's check results of commits: kept as long as the webhook deliveries that reported them. */
  checks?: Pick<CommitCheckStore, 'deleteReportedBefore'>;
  /** One-off and cron runs: the newest `keepRuns` of each environment's one-off runs and of each cron job stay. */
  runs?: Pick<RunStore, 'deleteOld'>;
  /** Default 100. */
  keepRuns?: number;
  /** The event log: events older than `eventRetentionDays` are deleted. */
  events?: Pick<EventStore, 'deleteBefore'>;
  /** Default 90 (as long as the metrics' hours). */
  eventRetentionDays?: number;
  logger: Logger;
  /** Output of deployments that ended longer ago than this is deleted (PIER_DEPLOYMENT_LOG_RETENTION_DAYS). */
  logRetentionDays: number;
  /** Webhook delivery records older than this are deleted (PIER_WEBHOOK_DELIVERY_RETENTION_DAYS). */
  deliveryRetentionDays: number;
  /** How often old records are looked for. Default 1 hour. */
  intervalMs?: number;
  /** Rows deleted per statement, so no statement holds locks on many rows for long. Default 5000. */
  batchSize?: number;
  /** Statements per kind and pass at most; the rest waits for the next pass. Default 100. */
  maxBatches?: number;
  now?: () => Date;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * Deletes what is only kept for a while, on start and every hour: the log
 * lines of deployments that ended (failed, cancelled, superseded) more than
 * the log retention ago, keeping the deployments themselves, and webhook
 * delivery records (with the check results GitHub reported) older than
 * theirs, and one-off and cron runs beyond the newest 100 of each
 * environment and job, and events older than 90 days. In bounded
 * batches; several workers doing it at once only delete the same rows once.
 */
export class RecordRetention {
  readonly #loop: PassLoop;

  constructor(private readonly options: RecordRetentionOptions) {
    this.#loop = new PassLoop({
      name: 'retention',
      intervalMs: options.intervalMs ?? 60 * 60_000,
      logger: options.logger,
      pass: () => this.sweep(),
    });
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Runs a pass now, or right after the one running. */
  kick(): void {
    this.#loop.kick();
  }

  /** One pass; returns how many rows of each kind were deleted. */
  async sweep(): Promise<{ logLines: number; deliveries: number }> {
    const { deployments, deliveries, logger } = this.options;
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const logsBefore = new Date(now - this.options.logRetentionDays * DAY_MS);
    const deliveriesBefore = new Date(now - this.options.deliveryRetentionDays * DAY_MS);
    const logLines = await this.#inBatches((limit) => deployments.deleteOldLogs(logsBefore, limit));
    const deleted = await this.#inBatches((limit) => deliveries.deleteReceivedBefore(deliveriesBefore, limit));
    const { checks } = this.options;
    if (checks) await this.#inBatches((limit) => checks.deleteReportedBefore(deliveriesBefore, limit));
    const { runs } = this.options;
    const oldRuns = runs ? await this.#inBatches((limit) => runs.deleteOld(this.options.keepRuns ?? 100, limit)) : 0;
    if (oldRuns > 0) logger.info({ runs: oldRuns }, 'old runs deleted');
    const { events } = this.options;
    const eventsBefore = new Date(now - (this.options.eventRetentionDays ?? 90) * DAY_MS);
    const oldEvents = events ? await this.#inBatches((limit) => events.deleteBefore(eventsBefore, limit)) : 0;
    if (oldEvents > 0) logger.info({ events: oldEvents }, 'old events deleted');
    if (logLines > 0 || deleted > 0) logger.info({ logLines, deliveries: deleted }, 'old records deleted');
    return { logLines, deliveries: deleted };
  }

  /** Deletes batch after batch until one comes back short, or the pass's share is used up. */
  async #inBatches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    const batchSize = this.options.batchSize ?? 5000;
    let total = 0;
    for (let batch = 0; batch < (this.options.maxBatches ?? 100); batch++) {
      const deleted = await deleteBatch(batchSize);
      total += deleted;
      if (deleted < batchSize) break;
    }
    return total;
  }
}
