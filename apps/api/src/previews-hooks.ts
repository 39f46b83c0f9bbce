import type { AppRow, DeliveryTransaction, EnvironmentRow } from '@pier/db';
import type { ApiDeps } from './deps.ts';

/** A preview environment and its app, as the hooks see them. */
export interface PreviewHookInput {
  app: AppRow;
  environment: EnvironmentRow;
}

/**
 * Runs once a new preview environment is committed, its first build already queued (never for a redelivery).
 * This is where "a preview gets its own fresh Postgres when `apps.preview_database` is on" plugs in: create a
 * managed Postgres owned by the environment (`managed_services.owner_environment_id`) and link it, which
 * redeploys the preview. Errors are logged by the caller, never answered to GitHub: the delivery is recorded.
 * Not crash-safe on its own: a crash between the commit and this call leaves the preview without a database.
 */
export async function onPreviewCreated(deps: ApiDeps, preview: PreviewHookInput): Promise<void> {
  if (!preview.app.previewDatabase) return;
  deps.logger.info(
    { app: preview.app.name, environment: preview.environment.name },
    'this app asks for a database per preview; managed services are not wired to previews yet',
  );
}

/**
 * Runs in the closing delivery's transaction just before the preview's row is deleted (afterwards its owned
 * services' `owner_environment_id` is null). This is where a preview's own database is scheduled for deletion,
 * in `tx`, so that the close and the clean-up commit together.
 */
export async function onPreviewClosing(_tx: DeliveryTransaction, _preview: PreviewHookInput): Promise<void> {}
