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
