import type { CapacityPolicy } from '@pier/core';
import { z } from 'zod';
import { positiveInt } from './fields.ts';

/** `off`, or a ratio from 0.1 to 100: what the guard multiplies the allocatable memory by. */
const overcommit = z
  .string()
  .default('1')
  .transform((value, ctx) => {
    if (value.trim().toLowerCase() === 'off') return null;
    const ratio = Number(value);
    if (!Number.isFinite(ratio) || ratio < 0.1 || ratio > 100) {
      ctx.addIssue({ code: 'custom', message: 'must be a ratio from 0.1 to 100 (1: no overcommit, 1.5: half again), or off' });
      return z.NEVER;
    }
    return ratio;
  });

/**
 * The capacity guard's settings, read by the api (scale-ups) and the worker
 * (builds, rollouts, runs) alike, so both decide with the same figures.
 */
export const capacitySettings = {
  /**
   * Memory limits Pier may promise, relative to what the host has after its
   * reserve: 1 promises no more than there is (a refused scale-up rather than
   * the OOM killer picking a victim later), 1.5 half again (limits are
   * ceilings, most replicas use less), `off` turns the guard off.
   */
  PIER_CAPACITY_OVERCOMMIT: overcommit,
  /** Memory kept for the OS, dockerd, Postgres, Redis and Pier itself; unset: 10 % of the total, at least 512 MiB. */
  PIER_CAPACITY_RESERVE_MB: z.coerce
    .number({ error: 'must be a whole number of MiB' })
    .int('must be a whole number of MiB')
    .min(0, 'must be at least 0')
    .optional(),
  /** Memory limit of build containers, so a build cannot starve running apps; the guard counts it for each running build. */
  PIER_BUILD_MEMORY_MB: positiveInt(2048),
};

/** The guard's policy from the parsed settings. */
export function capacityPolicyFrom(config: {
  PIER_CAPACITY_OVERCOMMIT: number | null;
  PIER_CAPACITY_RESERVE_MB?: number | undefined;
}): CapacityPolicy {
  const reserve = config.PIER_CAPACITY_RESERVE_MB;
  return { overcommit: config.PIER_CAPACITY_OVERCOMMIT, reserveBytes: reserve === undefined ? null : reserve * 1024 * 1024 };
}
