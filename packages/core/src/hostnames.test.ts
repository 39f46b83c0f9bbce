import { describe, expect, it } from 'vitest';
import { APP_NAME_MAX, generatedLabelProblem, hostnamesFor } from './hostnames.ts';

describe('generatedLabelProblem', () => {
  it.each([
    ['web', 'staging', undefined],
    ['a'.repeat(APP_NAME_MAX), 'pr-2147483647', undefined],
    ['a'.repeat(APP_NAME_MAX), 'staging', undefined],
    ['a'.repeat(50), 'e'.repeat(12), undefined],
    ['a'.repeat(50), 'e'.repeat(13), 'at most 12'],
    ['web', 'e'.repeat(60), 'at most 59'],
    // Production is served at <app>.<base>: no suffix to fit.
    ['a'.repeat(63), 'production', undefined],
  ])('%s / %s', (app, env, problem) => {
    const found = generatedLabelProblem(app, env);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
    // Whatever it accepts is one DNS label.
    if (found === undefined) {
      const label = hostnamesFor(app, env, 'pier.test')[0]?.split('.')[0] ?? '';
      expect(label.length).toBeLessThanOrEqual(63);
    }
  });
});
