import { describe, expect, it } from 'vitest';
import { examplePayload } from './example-payloads.ts';
import type { EnvironmentTrigger } from './route-decision.ts';
import { routeEvent } from './route-event.ts';

/** The time and identity a deploying delivery is ordered by, per app and ref (replays are refused on them). */

const environments: EnvironmentTrigger[] = [{ id: 'env-staging', name: 'staging', branch: 'master', tagPattern: null }];

function orderOf(event: string, payload: unknown) {
  const decision = routeEvent(event, payload, environments);
  if (decision.kind === 'deploy') return decision.order;
  if (decision.kind === 'preview-close' && decision.merge.kind === 'deploy') return decision.merge.order;
  throw new Error(`no deploy: ${JSON.stringify(decision)}`);
}

function push(pushedAt: unknown) {
  const payload = examplePayload('pushBranch') as Record<string, any>;
  payload.repository = { ...payload.repository, pushed_at: pushedAt };
  return payload;
}

describe('delivery order', () => {
  it.each([
    ['Unix seconds', 1700000000, new Date('2023-11-14T22:13:20Z')],
    ['an ISO string', '2024-01-02T03:04:05Z', new Date('2024-01-02T03:04:05Z')],
    ['an ISO string with an offset', '2024-01-02T05:04:05+02:00', new Date('2024-01-02T03:04:05Z')],
  ])('a push is ordered by repository.pushed_at given as %s', (_, pushedAt, at) => {
    expect(orderOf('push', push(pushedAt))).toEqual({
      key: 'refs/heads/master',
      at,
      identity: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    });
  });

  it.each([
    ['absent', undefined],
    ['null', null],
    ['text', 'yesterday'],
    ['negative', -5],
    ['fractional', 1.5],
  ])('a push whose pushed_at is %s has no order (and still deploys)', (_, pushedAt) => {
    expect(orderOf('push', push(pushedAt))).toBeUndefined();
  });

  it('a merge is ordered as a push to its base branch at merged_at, by the merge commit', () => {
    const payload = examplePayload('pullRequestClosed') as Record<string, any>;
    payload.pull_request.merged = true;
    payload.pull_request.merged_at = '2024-05-06T07:08:09Z';
    const order = orderOf('pull_request', payload);
    expect(order).toEqual({
      key: 'refs/heads/master',
      at: new Date('2024-05-06T07:08:09Z'),
      identity: payload.pull_request.merge_commit_sha,
    });
  });
});
