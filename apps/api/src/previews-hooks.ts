import { randomBytes } from 'node:crypto';
import { ConflictError, injectedVariableKey, serviceImage, type UrlParams } from '@pier/core';
import { type AppRow, type DeliveryTransaction, type EnvironmentRow, scheduleOwnedServiceDeletion } from '@pier/db';
import type { ApiDeps } from './deps.ts';

/** A preview environment and its app, as the hooks see them. */
export interface PreviewHookInput {
  app: AppRow;
  environment: EnvironmentRow;
  /** Staging, whose settings a new preview copies; absent or null: none. */
  template?: EnvironmentRow | null;
}

/** What the preview hooks need besides the transaction. */
export type PreviewHookDeps = Pick<ApiDeps, 'services' | 'serviceImages'>;

/**
 * Runs in the delivery's transaction when it creates a preview environment
 * (never for a redelivery). With `apps.preview_database` on, the preview gets a
 * fresh managed Postgres of its own (`managed_services.owner_environment_id`),
 * linked while it is still being made: the first deployment waits until it is
 * ready. The link takes the URL parameters of staging's own DATABASE_URL link
 * (say `sslmode=require`), so the app connects to its preview database as it
 * does in staging. Service, provision operation, link and preview commit
 * together, so a crash never leaves a preview without its database. Returns
 * the service's name, or undefined when the app has no preview databases.
 */
export async function onPreviewCreated(
  tx: DeliveryTransaction,
  deps: PreviewHookDeps,
  preview: PreviewHookInput,
): Promise<string | undefined> {
  if (!preview.app.previewDatabase) return undefined;
  const { image, version } = serviceImage('postgres', deps.serviceImages.postgres);
  const create = (name: string) =>
    deps.services.create({ name, type: 'postgres', version, image, ownerEnvironmentId: preview.environment.id }, tx);
  const name = previewDatabaseName(preview.app.name, preview.environment.name);
  // The name is taken while an earlier preview of a reopened pull request is still being deleted
  // (or by a service someone named so): a suffix keeps the two apart.
  const service = await create(name).catch((err: unknown) => {
    if (!(err instanceof ConflictError)) throw err;
    return create(`${name.slice(0, 49).replace(/-+$/, '')}-${randomBytes(2).toString('hex')}`);
  });
  const urlParams = preview.template ? await databaseUrlParams(deps, preview.template.id) : {};
  await deps.services.link(preview.environment.id, service.id, { allowProvisioning: true, urlParams }, tx);
  return service.name;
}

/** The URL parameters of the environment's Postgres link that injects DATABASE_URL, the one a preview's own replaces; none without one. */
async function databaseUrlParams(deps: PreviewHookDeps, environmentId: string): Promise<UrlParams> {
  const variable = injectedVariableKey('postgres', '', true);
  const links = await deps.services.links(environmentId);
  return links.find((l) => l.service.type === 'postgres' && l.variable === variable)?.urlParams ?? {};
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
