/**
 * Every Postgres NOTIFY channel Pier uses, in one place: the writer's
 * `pg_notify` and the reader's LISTEN name the same constant.
 */

/** A new outbox entry: the relay queues it at once instead of at its next poll. */
export const OUTBOX_CHANNEL = 'pier_outbox';
/** A cancel request for a build: the worker building it stops. */
export const CANCEL_CHANNEL = 'pier_cancel';
/** Any change to who serves what (a switch, a drain, a removal, a new replica in rotation): the proxy reloads its routes. */
export const ROUTES_CHANNEL = 'pier_routes';
/** A rollout began or an environment's desired state changed: the reconciler runs a pass at once. */
export const ROLLOUTS_CHANNEL = 'pier_rollouts';
/** A managed-service operation was queued: the service operator picks it up at once. */
export const SERVICE_OPS_CHANNEL = 'pier_service_ops';
/** A volume operation (backup, restore, delete) was queued: the volume operator picks it up at once. */
export const VOLUME_OPS_CHANNEL = 'pier_volume_ops';
/** A certificate was issued, renewed or removed: the proxy reloads its certificates. */
export const CERTIFICATES_CHANNEL = 'pier_certificates';
/** An app was deleted (payload: its name): the worker removes its images once its containers are gone. */
export const APP_DELETED_CHANNEL = 'pier_app_deleted';
/** The worker removed a deleted app's images (payload: JSON of `AppImagesRemoved`): the API answers the DELETE with it. */
export const APP_IMAGES_REMOVED_CHANNEL = 'pier_app_images_removed';
/** A one-off run or a cron run was queued, or a cancel was asked for: the run executors look at once. */
export const RUNS_CHANNEL = 'pier_runs';
/** An event was recorded (payload: its id): the notifier fans it out at once. */
export const EVENTS_CHANNEL = 'pier_events';
/** Log lines were stored (payload: the environment's id): followers of that environment's logs read on. */
export const LOGS_CHANNEL = 'pier_logs';
/** A row of a watched table changed (payload: JSON `{ t: table, a: app id or null }`, from migration 0016's trigger): the change feed. */
export const CHANGES_CHANNEL = 'pier_changes';
