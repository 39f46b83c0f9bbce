import type { SecretBox } from '@pier/core';
import type { Db } from '../client.ts';
import { AlertStateStore } from './alert-state-store.ts';
import { AppStore } from './app-store.ts';
import { CertificateStore } from './certificate-store.ts';
import { CommitCheckStore } from './commit-checks.ts';
import { CronStore } from './cron-store.ts';
import { DeploymentStore } from './deployment-store.ts';
import { DomainStore } from './domain-store.ts';
import { EnvironmentHealthStore } from './environment-health-store.ts';
import { EnvironmentStore } from './environment-store.ts';
import { EventStore } from './event-store.ts';
import { LeaseStore } from './lease-store.ts';
import { LogDrainStore } from './log-drain-store.ts';
import { LogStore } from './log-store.ts';
import { MetricStore } from './metric-store.ts';
import { NotificationQueue } from './notification-queue.ts';
import { NotificationStore } from './notification-store.ts';
import { OverviewStore } from './overview-store.ts';
import { ProcessStore } from './process-store.ts';
import { ReleaseStore } from './release-store.ts';
import { ReleaseWatchStore } from './release-watch-store.ts';
import { ReplicaStore } from './replica-store.ts';
import { ReservationStore } from './reservations.ts';
import { RolloutStore } from './rollout-store.ts';
import { RunStore } from './run-store.ts';
import { ScheduleWatchStore } from './schedule-watch-store.ts';
import { SealedValueStore } from './sealed-value-store.ts';
import { ServiceOperationStore } from './service-operation-store.ts';
import { ServiceRoleStore } from './service-role-store.ts';
import { ServiceStore } from './service-store.ts';
import { SessionStore } from './session-store.ts';
import { TokenStore } from './token-store.ts';
import { VariableStore } from './variable-store.ts';
import { VolumeOperationStore } from './volume-operation-store.ts';
import { VolumeStore } from './volume-store.ts';
import { WebhookDeliveryStore } from './webhook-delivery-store.ts';

export interface Stores {
  apps: AppStore;
  environments: EnvironmentStore;
  variables: VariableStore;
  tokens: TokenStore;
  /** Dashboard sessions (an API token exchanged for a cookie). */
  sessions: SessionStore;
  /** Every app's environments at a glance (the dashboard's apps page). */
  overview: OverviewStore;
  deployments: DeploymentStore;
  deliveries: WebhookDeliveryStore;
  /** GitHub's checks of each commit, and the deployments waiting for them. */
  checks: CommitCheckStore;
  releases: ReleaseStore;
  /** The watch after each rollout (automatic rollback on an error spike) and its settings per environment. */
  releaseWatches: ReleaseWatchStore;
  replicas: ReplicaStore;
  rollouts: RolloutStore;
  leases: LeaseStore;
  environmentHealth: EnvironmentHealthStore;
  /** Replicas, limits and crash streak of each process type. */
  processes: ProcessStore;
  domains: DomainStore;
  certificates: CertificateStore;
  services: ServiceStore;
  serviceOperations: ServiceOperationStore;
  serviceRoles: ServiceRoleStore;
  sealedValues: SealedValueStore;
  /** One-off runs and cron runs, with their output. */
  runs: RunStore;
  /** Cron jobs declared through the API (with the live release's: every job of an environment). */
  cron: CronStore;
  /** Environments' Docker volumes: what replicas mount. */
  volumes: VolumeStore;
  /** Their backups and the operations (backup, restore, delete) workers claim. */
  volumeOperations: VolumeOperationStore;
  /** The memory limits reserved by everything Pier runs, for the capacity guard. */
  reservations: ReservationStore;
  /** What happened to each app and to the host. */
  events: EventStore;
  /** The host's conditions that fire and clear (disk, memory), for their events. */
  alertStates: AlertStateStore;
  /** How far the "missed" watch checked each backup and cron schedule, and which slots were taken. */
  scheduleWatches: ScheduleWatchStore;
  /** Notification channels (settings sealed) and their subscriptions and deliveries. */
  notifications: NotificationStore;
  /** Events fanned out into deliveries, throttled and summed up; deliveries claimed, sent, retried. */
  notificationQueue: NotificationQueue;
  /** Every line of every app container, kept after the container is gone. */
  logs: LogStore;
  /** Requests, replicas' use, restarts and the host, per minute then per hour. */
  metrics: MetricStore;
  /** Per app, where its lines are forwarded (URL sealed) and how far each drain got. */
  logDrains: LogDrainStore;
}

/** Every store over one database, secrets sealed with `box`. */
export function createStores(db: Db, box: SecretBox): Stores {
  const deployments = new DeploymentStore(db);
  const checks = new CommitCheckStore(db);
  return {
    apps: new AppStore(db, box),
    environments: new EnvironmentStore(db),
    variables: new VariableStore(db, box),
    tokens: new TokenStore(db),
    sessions: new SessionStore(db),
    overview: new OverviewStore(db),
    deployments,
    deliveries: new WebhookDeliveryStore(db, deployments, checks),
    checks,
    releases: new ReleaseStore(db, box),
    releaseWatches: new ReleaseWatchStore(db),
    replicas: new ReplicaStore(db),
    rollouts: new RolloutStore(db),
    leases: new LeaseStore(db),
    environmentHealth: new EnvironmentHealthStore(db),
    processes: new ProcessStore(db),
    domains: new DomainStore(db),
    certificates: new CertificateStore(db, box),
    services: new ServiceStore(db, box),
    serviceOperations: new ServiceOperationStore(db),
    serviceRoles: new ServiceRoleStore(db, box),
    sealedValues: new SealedValueStore(db, box),
    runs: new RunStore(db),
    reservations: new ReservationStore(db),
    events: new EventStore(db),
    alertStates: new AlertStateStore(db),
    scheduleWatches: new ScheduleWatchStore(db),
    notifications: new NotificationStore(db, box),
    notificationQueue: new NotificationQueue(db, box),
    logs: new LogStore(db),
    metrics: new MetricStore(db),
    logDrains: new LogDrainStore(db, box),
    cron: new CronStore(db),
    volumes: new VolumeStore(db),
    volumeOperations: new VolumeOperationStore(db),
  };
}
