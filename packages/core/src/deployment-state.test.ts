import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, DEPLOYMENT_STATES, isTerminal } from './deployment-state.ts';
import { ConflictError } from './errors.ts';

describe('deployment state machine', () => {
  it.each([
    ['queued', 'building', true],
    ['queued', 'superseded', true],
    ['building', 'deploying', true],
    ['building', 'cancelled', true],
    ['deploying', 'live', true],
    ['deploying', 'failed', true],
    ['live', 'superseded', true],
    ['live', 'building', false],
    ['failed', 'queued', false],
    ['cancelled', 'live', false],
    ['deploying', 'superseded', true],
    ['queued', 'live', false],
  ] as const)('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });

  it('terminal states go nowhere but live, which can only be superseded', () => {
    for (const state of DEPLOYMENT_STATES.filter((s) => isTerminal(s) && s !== 'live')) {
      for (const to of DEPLOYMENT_STATES) expect(canTransition(state, to)).toBe(false);
    }
  });

  it('throws a ConflictError for a forbidden move', () => {
    expect(() => assertTransition('failed', 'live')).toThrow(ConflictError);
  });
});
