import { serviceImage } from '@pier/core';
import { type AppRow, type DeliveryTransaction, type EnvironmentRow, scheduleOwnedServiceDeletion } from '@pier/db';
import type { ApiDeps } from './deps.ts';

/** A preview environment and its app, as the hooks see them. */
export interface PreviewHookInput {
  app: AppRow;
  environment: EnvironmentRow;
}

/**
 * Runs once a new preview environment is committed, its first build already queued (never for a redelivery).
 * With `apps.preview_database` on, the preview gets a fresh managed Postgres of its own
 * (`managed_services.owner_environment_id`), linked while it is still being made: the first deployment waits
 * until it is ready. Errors are logged by the caller, never answered to GitHub: the delivery is recorded.
 * A crash between the commit and this call leaves that preview without a database (its app still deploys).
 */
export async function onPreviewCreated(deps: ApiDeps, preview: PreviewHookInput): Promise<void> {
  if (!preview.app.previewDatabase) return;
  const { image, version } = serviceImage('postgres', deps.serviceImages.postgres);
  const service = await deps.services.create({
    name: previewDatabaseName(preview.app.name, preview.environment.name),
    type: 'postgres',
    version,
    image,
    ownerEnvironmentId: preview.environment.id,
  });
  // Linked while it is still being made: the preview's first deployment waits until it is ready.
  await deps.services.link(preview.environment.id, service.id, { allowProvisioning: true });
  deps.logger.info(
    { app: preview.app.name, environment: preview.environment.name, service: service.name },
    'preview database created',
  );
}

/**
 * `pr-12-shop`: a valid service name, unique per app and pull request, short
 * enough (54) that `pier-svc-<name>` is still a DNS label.
 */
export function previewDatabaseName(app: string, environment: string): string {
  return `${environment}-${app}`.slice(0, 54).replace(/-+$/, '');
}

/**
 * Runs in the closing delivery's transaction just before the preview's row is deleted (afterwards its owned
 * services' `owner_environment_id` is null): its own database is scheduled for deletion, data included, in `tx`,
 * so that the close and the clean-up commit together.
 */
export async function onPreviewClosing(tx: DeliveryTransaction, preview: PreviewHookInput): Promise<void> {
  await scheduleOwnedServiceDeletion(tx, preview.environment.id);
}
