import { ForbiddenError } from './errors.ts';

/**
 * Who is calling the API. An admin sees everything; an app token sees one app
 * and cannot manage apps or tokens. Every store query is filtered by it.
 */
export type Principal = { role: 'admin'; tokenId: string | null } | { role: 'app'; appId: string; tokenId: string };

export function assertAdmin(principal: Principal, action: string): void {
  if (principal.role !== 'admin') throw new ForbiddenError(`only an admin token may ${action}`);
}

/** The app ids a principal may see, or null for all. */
export function visibleAppId(principal: Principal): string | null {
  return principal.role === 'admin' ? null : principal.appId;
}

/**
 * App settings that widen what the app's code or pushes can reach: which
 * repository is cloned and matched on webhooks, running forks' code, and
 * managed databases made for previews. Only an admin changes them; an app
 * token may deploy, roll back, scale, read logs and set variables of its app.
 */
export const ADMIN_ONLY_APP_SETTINGS = ['repository', 'forkPreviews', 'previewDatabase'] as const;

/** Throws ForbiddenError naming the first admin-only setting an app token tries to change. */
export function assertMayChangeAppSettings(principal: Principal, changed: readonly string[]): void {
  if (principal.role === 'admin') return;
  const field = ADMIN_ONLY_APP_SETTINGS.find((setting) => changed.includes(setting));
  if (field) throw new ForbiddenError(`${field}: only an admin token may change an app's ${field}`);
}
