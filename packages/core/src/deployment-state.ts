import { ConflictError } from './errors.ts';

/**
 * The life of a deployment:
 *
 *   queued → building → deploying → live
 *      │         │           │
 *      └─────────┴───────────┴──→ failed | cancelled
 *      └──→ superseded (a newer deployment of the same environment took its place)
 *   deploying → superseded (a newer rollout of the environment began before this one ended)
 *   live → superseded (a newer release went live)
 *   waiting_for_checks → queued (GitHub's checks of its commit passed)
 *                      → skipped (a check failed, or they did not finish in time) | cancelled | superseded
 */
export const DEPLOYMENT_STATES = [
  'waiting_for_checks',
  'queued',
  'building',
  'deploying',
  'live',
  'failed',
  'cancelled',
  'superseded',
  'skipped',
] as const;

export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

const TRANSITIONS: Record<DeploymentState, readonly DeploymentState[]> = {
  waiting_for_checks: ['queued', 'skipped', 'cancelled', 'superseded'],
  queued: ['building', 'deploying', 'failed', 'cancelled', 'superseded'],
  building: ['deploying', 'failed', 'cancelled', 'superseded'],
  deploying: ['live', 'failed', 'cancelled', 'superseded'],
  live: ['superseded'],
  failed: [],
  cancelled: [],
  superseded: [],
  skipped: [],
};

/** States after which nothing more happens to the deployment's build or rollout. */
export const TERMINAL_STATES: readonly DeploymentState[] = ['live', 'failed', 'cancelled', 'superseded', 'skipped'];

export function canTransition(from: DeploymentState, to: DeploymentState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: DeploymentState, to: DeploymentState): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`a deployment cannot go from ${from} to ${to}`);
  }
}

export function isTerminal(state: DeploymentState): boolean {
  return TERMINAL_STATES.includes(state);
}
