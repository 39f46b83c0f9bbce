import { describe, expect, it } from 'vitest';
import { missingVariables, missingVariablesReason } from './required-variables.ts';

describe('required variables', () => {
  it('lists the required names that are neither set nor injected, in the order the app gave them', () => {
    const required = [{ name: 'SECRET_KEY', description: 'signs sessions' }, { name: 'DATABASE_URL' }, { name: 'STRIPE_KEY' }];
    expect(missingVariables(required, ['DATABASE_URL'])).toEqual([
      { name: 'SECRET_KEY', description: 'signs sessions' },
      { name: 'STRIPE_KEY' },
    ]);
    expect(missingVariables(required, ['SECRET_KEY', 'DATABASE_URL', 'STRIPE_KEY'])).toEqual([]);
    expect(missingVariables([], [])).toEqual([]);
  });

  it('names each missing variable with what it is for, and the call that sets it', () => {
    expect(
      missingVariablesReason('shop', 'staging', [{ name: 'SECRET_KEY', description: 'signs sessions' }, { name: 'STRIPE_KEY' }]),
    ).toBe(
      'required variables are not set in staging: SECRET_KEY (signs sessions), STRIPE_KEY; set them with PATCH /apps/shop/environments/staging/variables, then deploy again',
    );
    expect(missingVariablesReason('shop', 'production', [{ name: 'A' }])).toMatch(
      /^required variable is not set in production: A; set it/,
    );
  });
});
