export * from './app-deletion-notices.ts';
export * from './capacity-guard.ts';
export * from './change-feed.ts';
export * from './channels.ts';
export * from './client.ts';
export * from './listen.ts';
export * from './migrations.ts';
export * from './postgres-request-metrics.ts';
export * from './postgres-route-source.ts';
export * from './proxy-role.ts';
export type {
  EventRow,
  LogDrainRow,
  LogLineRow,
  NotificationChannelRow,
  NotificationDeliveryRow,
  ReleaseWatchRow,
} from './schema/observability.ts';
export * as schema from './schema.ts';
export * from './stores/acme-store.ts';
export * from './stores/alert-state-store.ts';
export * from './stores/app-store.ts';
export * from './stores/app-usage.ts';
export * from './stores/certificate-owners.ts';
export * from './stores/certificate-store.ts';
export * from './stores/commit-checks.ts';
export * from './stores/cron-store.ts';
export * from './stores/deployment-store.ts';
export * from './stores/domain-store.ts';
export * from './stores/environment-health-store.ts';
export * from './stores/environment-store.ts';
export * from './stores/event-store.ts';
export * from './stores/index.ts';
export * from './stores/lease-store.ts';
export * from './stores/log-drain-store.ts';
export * from './stores/log-store.ts';
export * from './stores/metric-rollup.ts';
export * from './stores/metric-store.ts';
export * from './stores/metric-totals.ts';
export * from './stores/notification-queue.ts';
export * from './stores/notification-store.ts';
export * from './stores/overview-store.ts';
export * from './stores/process-store.ts';
export * from './stores/pull-request-events.ts';
export * from './stores/ref-events.ts';
export * from './stores/release-store.ts';
export * from './stores/release-watch-store.ts';
export * from './stores/replica-store.ts';
export * from './stores/reservations.ts';
export * from './stores/rollout-store.ts';
export * from './stores/run-store.ts';
export * from './stores/schedule-watch-store.ts';
export * from './stores/sealed-value-store.ts';
export * from './stores/service-operation-store.ts';
export * from './stores/service-role-store.ts';
export * from './stores/service-store.ts';
export * from './stores/session-store.ts';
export * from './stores/token-store.ts';
export * from './stores/variable-store.ts';
export * from './stores/volume-operation-store.ts';
export * from './stores/volume-store.ts';
export * from './stores/webhook-delivery-store.ts';
