import { createSecretMask } from '@pier/core';
import type { Stores } from '@pier/db';
import { replicaSecrets } from '../deploy/replica-config.ts';
import type { LogSource } from './log-source.ts';

type Mask = (text: string) => string;

export interface OneOffMasksOptions {
  stores: Pick<Stores, 'environments' | 'releases' | 'services' | 'variables'>;
  /** How long a mask is reused for the same environment and release (a changed variable is masked after that). Default 60 s. */
  ttlMs?: number;
}

const unmasked: Mask = (text) => text;

/**
 * The secret mask of a one-off container's output (release command, run,
 * cron), as the run executor and deploy job mask the same output they keep:
 * the app's variables, the linked services' secrets and the release's
 * config. Replicas' output is not masked (it is stored as the app wrote it).
 * Masks are cached per environment and release for `ttlMs`, so a burst of
 * cron runs costs one lookup.
 */
export class OneOffMasks {
  readonly #cache = new Map<string, { mask: Promise<Mask>; at: number }>();

  constructor(private readonly options: OneOffMasksOptions) {}

  maskOf(source: LogSource): Promise<Mask> {
    if (source.source === 'replica') return Promise.resolve(unmasked);
    const key = `${source.environmentId}:${source.releaseId ?? ''}`;
    const now = Date.now();
    for (const [k, entry] of this.#cache) if (now - entry.at > (this.options.ttlMs ?? 60_000)) this.#cache.delete(k);
    const known = this.#cache.get(key);
    if (known) return known.mask;
    const mask = this.#load(source);
    this.#cache.set(key, { mask, at: now });
    // A failed lookup is not kept: the next container asks again.
    mask.catch(() => this.#cache.delete(key));
    return mask;
  }

  async #load(source: LogSource): Promise<Mask> {
    const { stores } = this.options;
    const env = await stores.environments.byId(source.environmentId);
    const release = source.releaseId ? await stores.releases.get(source.releaseId) : undefined;
    return createSecretMask(await replicaSecrets(stores, env.appId, env.id, release));
  }
}
