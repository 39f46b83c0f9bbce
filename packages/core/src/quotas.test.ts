import { describe, expect, it } from 'vitest';
import { type AppUsage, quotaProblem } from './quotas.ts';

const quotas = { environments: 4, previews: 3, forkPreviews: 1, replicas: 10, domains: 2 };
const usage: AppUsage = { environments: 2, previews: 1, forkPreviews: 0, replicas: 4, domains: 2 };

describe('quotaProblem', () => {
  it.each<[string, Partial<AppUsage>, string | undefined]>([
    ['nothing added', {}, undefined],
    ['an environment within the quota', { environments: 2 }, undefined],
    [
      'an environment past it',
      { environments: 3 },
      'the app would have 5 environments (previews aside), more than its quota of 4 (PIER_QUOTA_ENVIRONMENTS)',
    ],
    ['a preview and its replica', { previews: 1, replicas: 1 }, undefined],
    [
      'a fork preview past the fork quota',
      { previews: 1, forkPreviews: 2 },
      'the app would have 2 open previews of forks, more than its quota of 1 (PIER_QUOTA_FORK_PREVIEWS)',
    ],
    [
      'replicas past the total',
      { replicas: 7 },
      'the app would have 11 replicas in all its environments, more than its quota of 10 (PIER_QUOTA_REPLICAS)',
    ],
    [
      'a domain when all are used',
      { domains: 1 },
      'the app would have 3 custom domains, more than its quota of 2 (PIER_QUOTA_DOMAINS)',
    ],
    ['fewer replicas when over a lowered quota', { replicas: -2 }, undefined],
    ['no change when at the quota', { domains: 0 }, undefined],
  ])('%s', (_, added, problem) => {
    expect(quotaProblem(quotas, usage, added)).toBe(problem);
  });
});
