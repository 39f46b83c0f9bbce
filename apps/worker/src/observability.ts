import type { ContainerOperations, Workload } from '@pier/core';
import { EVENTS_CHANNEL, listenTo, type Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';
import { DrainForwarder, type DrainForwarderOptions } from './drains/drain-forwarder.ts';
import { HostAlertWatch, type HostAlertWatchOptions } from './events/host-alerts.ts';
import { MissedSlotWatch, type MissedSlotWatchOptions } from './events/missed-slot-watch.ts';
import { LogCollector, type LogCollectorOptions } from './logs/log-collector.ts';
import { LogRetention } from './logs/log-retention.ts';
import { OneOffMasks, type OneOffMasksOptions } from './logs/one-off-mask.ts';
import { MetricsCollector, type MetricsCollectorOptions } from './metrics/metrics-collector.ts';
import { MetricsRollup, type MetricsRollupOptions } from './metrics/metrics-rollup.ts';
import { Notifier, type NotifierOptions } from './notifications/notifier.ts';
import { ReleaseWatcher, type ReleaseWatcherOptions } from './rollbacks/release-watcher.ts';
import { workerHolder } from './worker-lease.ts';

export interface ObservabilityOptions {
  /** The stores every loop below reads and writes. */
  stores: Pick<Stores, 'logs' | 'leases' | 'notificationQueue'> &
    OneOffMasksOptions['stores'] &
    MetricsCollectorOptions['stores'] &
    MetricsRollupOptions['stores'] &
    ReleaseWatcherOptions['stores'] &
    HostAlertWatchOptions['stores'] &
    MissedSlotWatchOptions['stores'] &
    DrainForwarderOptions['stores'];
  sql: postgres.Sql;
  /** What the log collector follows containers through. */
  containers: ContainerOperations;
  /** What the metrics collector reads replicas' statistics through. */
  workload: Workload;
  /** Installation name on every container (PIER_INSTANCE). */
  instance: string;
  logger: Logger;
  /** How often the watch after each rollout judges new releases (PIER_ROLLBACK_WATCH_INTERVAL_MS; tests shorten it). */
  rollbackWatchIntervalMs?: number;
  /** The notifier (events to channels: throttle, retries, give-up age); absent: this worker sends no notifications. */
  notifier?: Omit<NotifierOptions, 'queue' | 'logger' | 'wakeOn'>;
  /** The host's disk and memory alerts (how the host is read, thresholds); absent: not watched here. */
  hostAlerts?: Omit<HostAlertWatchOptions, 'stores' | 'logger'>;
  /** The dead man's switch over backup and cron slots (timings; it always runs, one worker at a time). */
  missedSlots?: Omit<MissedSlotWatchOptions, 'stores' | 'logger'>;
  /**
   * The metrics collector (replicas' Docker statistics and the host, every PIER_METRICS_INTERVAL_MS, under a
   * lease) and the hourly roll-up; absent: neither runs here (tests that read no metrics).
   */
  metrics?: Pick<MetricsCollectorOptions, 'intervalMs' | 'dockerRoot'> & { rollupIntervalMs?: number };
  /** The log drain forwarder (Pier's own ports it never sends to, timings); absent: this worker forwards no drains. */
  drains?: Omit<DrainForwarderOptions, 'stores' | 'logger'>;
  /**
   * The log collector (apps' container output into the log store, under a lease) and log retention
   * (PIER_LOG_RETENTION_DAYS / _MB); absent: neither runs here (tests that do not read app logs).
   */
  appLogs?: { retentionDays: number; retentionMb: number } & Pick<
    LogCollectorOptions,
    'discoverIntervalMs' | 'batchLines' | 'flushMs' | 'leaseMs'
  >;
}

/** The loops that see what happens to apps and the host, and say so. */
export interface ObservabilityLoops {
  /** Rolls a new release back on its own when it answers errors or restarts more than the one before. */
  releaseWatcher: ReleaseWatcher;
  /** Records the host's disk and memory alerts (when `hostAlerts` is given). */
  hostAlerts: HostAlertWatch | null;
  /** Records backup and cron slots that passed with nothing run. */
  missedSlots: MissedSlotWatch;
  /** Sends events to notification channels (when `notifier` is given). */
  notifier: Notifier | null;
  /** Follows apps' containers into the log store (when `appLogs` is given). */
  logCollector: LogCollector | null;
  /** Samples replicas and the host into the metrics (when `metrics` is given). */
  metricsCollector: MetricsCollector | null;
  /** Forwards apps' stored lines to their log drains (when `drains` is given). */
  drainForwarder: DrainForwarder | null;
}

export interface Observability {
  loops: ObservabilityLoops;
  /** Stops every loop but the log collector. */
  stop(): Promise<void>;
  /** Stops the log collector: last, after the loops that stop containers, so that their last lines are read. */
  stopLogCollector(): Promise<void>;
}

/**
 * Starts the log collector and retention, the metrics collector and roll-up,
 * the drain forwarder, the notifier, the release watcher, the host alerts and
 * the missed-slot watch. Each acts in one worker at a time (its own lease).
 */
export function startObservability(options: ObservabilityOptions): Observability {
  const { stores, logger } = options;
  const { retentionDays, retentionMb, ...collectorTimings } = options.appLogs ?? { retentionDays: 0, retentionMb: 0 };
  const logCollector = options.appLogs
    ? new LogCollector({
        ...collectorTimings,
        containers: options.containers,
        logs: stores.logs,
        leases: stores.leases,
        holder: workerHolder(),
        instance: options.instance,
        logger,
        masks: new OneOffMasks({ stores }),
      })
    : null;
  const logRetention = options.appLogs
    ? new LogRetention({ logs: stores.logs, leases: stores.leases, maxAgeDays: retentionDays, maxMb: retentionMb, logger })
    : null;
  const metricsCollector = options.metrics
    ? new MetricsCollector({ ...options.metrics, stores, workload: options.workload, instance: options.instance, logger })
    : null;
  const metricsRollup = options.metrics
    ? new MetricsRollup({ stores, logger, intervalMs: options.metrics.rollupIntervalMs })
    : null;
  const notifier = options.notifier
    ? new Notifier({
        ...options.notifier,
        queue: stores.notificationQueue,
        logger,
        wakeOn: listenTo(options.sql, EVENTS_CHANNEL),
      })
    : null;
  const releaseWatcher = new ReleaseWatcher({ stores, logger, intervalMs: options.rollbackWatchIntervalMs });
  const hostAlerts = options.hostAlerts ? new HostAlertWatch({ ...options.hostAlerts, stores, logger }) : null;
  const missedSlots = new MissedSlotWatch({ ...options.missedSlots, stores, logger });
  const drainForwarder = options.drains ? new DrainForwarder({ ...options.drains, stores, logger }) : null;

  logCollector?.start();
  metricsCollector?.start();
  metricsRollup?.start();
  logRetention?.start();
  notifier?.start();
  releaseWatcher.start();
  hostAlerts?.start();
  missedSlots.start();
  drainForwarder?.start();
  return {
    loops: { releaseWatcher, hostAlerts, missedSlots, notifier, logCollector, metricsCollector, drainForwarder },
    stop: async () => {
      await notifier?.stop();
      await metricsCollector?.stop();
      await metricsRollup?.stop();
      await drainForwarder?.stop();
      await logRetention?.stop();
      await releaseWatcher.stop();
      await hostAlerts?.stop();
      await missedSlots.stop();
    },
    stopLogCollector: async () => {
      await logCollector?.stop();
    },
  };
}
