import { AUTO_ROLLBACK_BOUNDS, AUTO_ROLLBACK_DEFAULTS, ConflictError } from '@pier/core';
import type { EnvironmentRow, ReleaseRow, ReleaseWatchRow, ReleaseWatchStore } from '@pier/db';
import { z } from 'zod';
import { environmentResponse, presentEnvironment } from '../presenters.ts';

const { windowSeconds, errorRate, minRequests, restarts } = AUTO_ROLLBACK_BOUNDS;

/** `PATCH …/environments/:env { autoRollback }`: each field optional, null puts the default back. */
export const autoRollbackBody = z
  .strictObject({
    enabled: z
      .boolean()
      .nullable()
      .optional()
      .describe(`roll back on its own after a rollout (default ${AUTO_ROLLBACK_DEFAULTS.enabled})`),
    windowSeconds: z
      .number()
      .int()
      .min(windowSeconds.min)
      .max(windowSeconds.max)
      .nullable()
      .optional()
      .describe(`how long after going live a release is watched (default ${AUTO_ROLLBACK_DEFAULTS.windowSeconds})`),
    errorRate: z
      .number()
      .min(errorRate.min)
      .max(errorRate.max)
      .nullable()
      .optional()
      .describe(
        `share of 5xx answers (0–1) from which a release clearly worse than the one before is rolled back (default ${AUTO_ROLLBACK_DEFAULTS.errorRate})`,
      ),
    minRequests: z
      .number()
      .int()
      .min(minRequests.min)
      .max(minRequests.max)
      .nullable()
      .optional()
      .describe(
        `requests a release must have answered before its errors are judged (default ${AUTO_ROLLBACK_DEFAULTS.minRequests})`,
      ),
    restarts: z
      .number()
      .int()
      .min(restarts.min)
      .max(restarts.max)
      .nullable()
      .optional()
      .describe(
        `restarts within the window, more than the release before had, that roll back (default ${AUTO_ROLLBACK_DEFAULTS.restarts})`,
      ),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one setting to change');

/** The settings in force, as the environment's answer shows them. */
export const autoRollbackResponse = z
  .object({
    enabled: z.boolean(),
    windowSeconds: z.number(),
    errorRate: z.number(),
    minRequests: z.number(),
    restarts: z.number(),
  })
  .describe('automatic rollback on an error spike after each rollout: the settings in force (defaults where none is set)');

export const environmentWithRollbackResponse = environmentResponse.extend({ autoRollback: autoRollbackResponse });

/** An environment's answer with its automatic rollback settings in force. */
export async function presentEnvironmentWithRollback(watches: Pick<ReleaseWatchStore, 'settings'>, env: EnvironmentRow) {
  return { ...presentEnvironment(env), autoRollback: await watches.settings(env.id) };
}

/** `rolledBack` of a release in the API: when and why it was rolled back on its own; null when it was not. */
export function rolledBackView(watch: ReleaseWatchRow | null | undefined) {
  if (watch?.state !== 'rolled_back') return null;
  return { at: (watch.finishedAt ?? watch.startedAt).toISOString(), reason: watch.reason ?? '' };
}

/** The watch of the live release after its rollout, for the status: under way, passed, or rolled back and why. */
export function watchView(watch: ReleaseWatchRow | null | undefined) {
  if (!watch) return null;
  return {
    state: watch.state,
    startedAt: watch.startedAt.toISOString(),
    until: watch.until.toISOString(),
    reason: watch.reason,
    rollbackDeployment: watch.rollbackDeploymentId,
  };
}

/** A promotion of a release rolled back on its own is refused, naming the release and why. */
export async function assertNotRolledBack(
  watches: Pick<ReleaseWatchStore, 'ofRelease'>,
  release: Pick<ReleaseRow, 'id' | 'version'>,
  envName: string,
): Promise<void> {
  const rolledBack = rolledBackView(await watches.ofRelease(release.id));
  if (rolledBack) {
    throw new ConflictError(
      `release v${release.version} of ${envName} was rolled back automatically (${rolledBack.reason}); it is not promoted`,
    );
  }
}
