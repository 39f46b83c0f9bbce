import { createHash } from 'node:crypto';
import { ConflictError } from './errors.ts';

/**
 * Per-app caps, so that one app (or a flood of pull requests against it)
 * cannot take the network pool, the memory or the certificates of the
 * others. Previews count apart from the other environments; fork previews
 * (untrusted code anyone can open) have a smaller cap of their own.
 */
export interface AppQuotas {
  /** Environments other than previews (production and staging included). */
  environments: number;
  /** Preview environments open at once. */
  previews: number;
  /** Of those, previews of pull requests from forks. */
  forkPreviews: number;
  /** Replicas of all the app's environments together, previews included. */
  replicas: number;
  /** Custom domains of all the app's environments together. */
  domains: number;
}

/** What fits one VPS: a few environments, a handful of previews, tens of replicas. */
export const DEFAULT_APP_QUOTAS: AppQuotas = { environments: 10, previews: 10, forkPreviews: 3, replicas: 30, domains: 50 };

/** The configuration variable of each quota, for messages. */
export const QUOTA_SETTINGS: Record<keyof AppQuotas, string> = {
  environments: 'PIER_QUOTA_ENVIRONMENTS',
  previews: 'PIER_QUOTA_PREVIEWS',
  forkPreviews: 'PIER_QUOTA_FORK_PREVIEWS',
  replicas: 'PIER_QUOTA_REPLICAS',
  domains: 'PIER_QUOTA_DOMAINS',
};

export type AppUsage = AppQuotas;

const WHAT: Record<keyof AppQuotas, string> = {
  environments: 'environments (previews aside)',
  previews: 'open previews',
  forkPreviews: 'open previews of forks',
  replicas: 'replicas in all its environments',
  domains: 'custom domains',
};

/**
 * Why `added` on top of `usage` breaks a quota, or undefined. Only what grows
 * is checked: an app already over a lowered quota may still shrink or stay.
 */
export function quotaProblem(quotas: AppQuotas, usage: AppUsage, added: Partial<AppUsage>): string | undefined {
  for (const key of Object.keys(added) as (keyof AppQuotas)[]) {
    const more = added[key] ?? 0;
    if (more <= 0) continue;
    const total = usage[key] + more;
    if (total > quotas[key]) {
      return `the app would have ${total} ${WHAT[key]}, more than its quota of ${quotas[key]} (${QUOTA_SETTINGS[key]})`;
    }
  }
  return undefined;
}

/**
 * A request refused because it would break one of the app's quotas (409, as
 * any conflict). It names the app so the refusal can be recorded as a
 * `quota.refused` event where it is answered.
 */
export class QuotaRefusedError extends ConflictError {
  constructor(
    message: string,
    readonly appId: string,
    readonly envName: string | null = null,
  ) {
    super(message);
  }
}

/**
 * The dedupe key of a refusal's event (`quota.refused`, `capacity.refused`):
 * one event per app, kind and reason a minute, so a client retrying a
 * refused request in a loop cannot grow the event log without bound.
 */
export function refusalDedupeKey(kind: 'quota' | 'capacity', appId: string, reason: string, at: Date): string {
  const digest = createHash('sha256').update(reason).digest('hex').slice(0, 16);
  return `${kind}:${appId}:${digest}:${Math.floor(at.getTime() / 60_000)}`;
}
