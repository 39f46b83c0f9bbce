import { describe, expect, it } from 'vitest';
import { type DeploymentFacts, type DeploymentMoment, deploymentEvent } from './deployment-events.ts';

const facts: DeploymentFacts = {
  deploymentId: 'd1',
  trigger: 'push',
  appId: 'a1',
  appName: 'shop',
  environmentId: 'e1',
  envName: 'production',
  version: 7,
  liveVersion: 6,
  commitSha: '0123456789abcdef0123',
  reason: null,
};

describe('deploymentEvent', () => {
  const cases: [string, Partial<DeploymentFacts>, DeploymentMoment, string, string][] = [
    [
      'a push queued',
      { version: null },
      'queued',
      'deploy.queued',
      'shop production: deployment of commit 0123456789ab queued (push).',
    ],
    [
      'a config change queued',
      { trigger: 'config', commitSha: null },
      'queued',
      'deploy.queued',
      'shop production: deployment of v7 queued (config).',
    ],
    [
      'a rollback',
      { trigger: 'rollback', version: 4, commitSha: null },
      'queued',
      'deploy.rollback',
      'shop production: rollback from v6 to v4 queued.',
    ],
    [
      'a promotion (release made later)',
      { trigger: 'promote', version: null },
      'queued',
      'deploy.promotion',
      'shop production: promotion of commit 0123456789ab replacing v6 queued.',
    ],
    ['live', {}, 'live', 'deploy.live', 'shop production: v7 is live (push).'],
    [
      'failed with its reason',
      { reason: 'release v7 did not pass its health check' },
      'failed',
      'deploy.failed',
      'shop production: the push deployment of v7 failed: release v7 did not pass its health check',
    ],
    [
      'failed before a release',
      { version: null, reason: 'build failed' },
      'failed',
      'deploy.failed',
      'shop production: the push deployment failed: build failed',
    ],
  ];
  it.each(cases)('%s', (_name, change, moment, kind, message) => {
    const event = deploymentEvent({ ...facts, ...change }, moment);
    expect(event).toMatchObject({ kind, message, appId: 'a1', environmentId: 'e1', envName: 'production' });
    expect(event.data).toMatchObject({ deploymentId: 'd1' });
  });

  it('keeps the versions a rollback goes from and to', () => {
    expect(deploymentEvent({ ...facts, trigger: 'rollback', version: 4 }, 'queued').data).toMatchObject({ from: 6, to: 4 });
  });
});
