import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError } from '../support/api-state.ts';
import { pushPayload, sendWebhook } from '../support/webhooks.ts';
import { checkRunPayload, checkSuitePayload } from './check-payloads.ts';
import { type CreatedApp, createApp, fakeSha, uniqueAppName } from './webhook-fixtures.ts';

/**
 * The CI gate through the api and real Postgres, with signed deliveries: a
 * push to a gated environment waits (no outbox entry) until GitHub's checks
 * of its commit pass, is skipped when one fails, is superseded by a newer
 * push, and picks up results that came before it. No worker runs here: the
 * build starting is its outbox entry.
 */

let api: TestApi;
let app: CreatedApp;
const REPO = 'acme-gate/api';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('gate'), { fullName: REPO, cloneUrl: 'file:///srv/git/gate.git' });
  await patchStaging(app.name, { waitForChecks: true });
});
afterAll(async () => api?.close());

async function patchStaging(appName: string, payload: Record<string, unknown>) {
  const res = await api.request({ method: 'PATCH', url: `/apps/${appName}/environments/staging`, payload });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function send(event: string, payload: unknown, secret = app.secret) {
  return sendWebhook(api.app, { event, payload, secret });
}

async function push(sha: string, secret = app.secret, fullName = REPO) {
  const res = await send('push', pushPayload(fullName, 'refs/heads/main', sha), secret);
  expect(res.statusCode, res.body).toBe(202);
  return res.json();
}

async function row(id: string) {
  const [deployment] = await api.database.sql<{ state: string; reason: string | null; deadline: Date | null }[]>`
    select state, reason, checks_deadline_at as deadline from deployments where id = ${id}`;
  const outbox = await api.database.sql`select job from outbox where deployment_id = ${id}`;
  return { ...deployment, outbox: outbox.map((o) => o.job) };
}

async function getDeployment(id: string) {
  const res = await api.request({ method: 'GET', url: `/deployments/${id}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('a push to a gated environment', () => {
  it('waits without an outbox entry, and builds once every check reported has passed', async () => {
    const sha = fakeSha('gate-pass');
    const pushed = await push(sha);
    expect(pushed.deployments).toEqual([
      { id: expect.any(String), app: app.name, environment: 'staging', state: 'waiting_for_checks' },
    ]);
    const id = pushed.deployments[0].id;
    const waiting = await row(id);
    expect(waiting).toMatchObject({ state: 'waiting_for_checks', reason: null, outbox: [] });
    // The environment's timeout (30 min by default) from now.
    expect(Math.abs(new Date(waiting.deadline as Date).getTime() - (Date.now() + 1_800_000))).toBeLessThan(60_000);
    expect((await getDeployment(id)).checks).toMatchObject({ required: null, waitingFor: [], results: [] });

    // A run still going holds the commit back even after another suite passed.
    await send('check_run', checkRunPayload(REPO, sha, 'e2e', null));
    const suite = await send('check_suite', checkSuitePayload(REPO, sha, 'success'));
    expect(suite.statusCode, suite.body).toBe(202);
    expect(suite.json()).toEqual({
      deployments: [],
      check: { commit: sha, kind: 'check_suite', name: 'GitHub Actions', conclusion: 'success' },
    });
    expect(await row(id)).toMatchObject({ state: 'waiting_for_checks', outbox: [] });
    expect((await getDeployment(id)).checks).toMatchObject({ waitingFor: ['e2e'] });
    const status = await api.request({ method: 'GET', url: `/apps/${app.name}/environments/staging/status` });
    expect(status.json().waitingForChecks).toMatchObject({ deployment: id, commit: sha, waitingFor: ['e2e'] });

    const done = await send('check_run', checkRunPayload(REPO, sha, 'e2e', 'success'));
    expect(done.json().settled).toEqual([{ id, app: app.name, environment: 'staging', state: 'queued' }]);
    expect(await row(id)).toMatchObject({ state: 'queued', outbox: ['build'] });
    const events = (await getDeployment(id)).events.map((e: { from: string | null; to: string }) => `${e.from}->${e.to}`);
    expect(events).toEqual(['null->waiting_for_checks', 'waiting_for_checks->queued']);
  });

  it('is skipped, naming the check, when one fails', async () => {
    const sha = fakeSha('gate-fail');
    const id = (await push(sha)).deployments[0].id;
    const res = await send('check_suite', checkSuitePayload(REPO, sha, 'failure', { app: 'Buildkite' }));
    const reason = 'check suite "Buildkite" did not pass (failure): not built';
    expect(res.json().settled).toEqual([{ id, app: app.name, environment: 'staging', state: 'skipped', reason }]);
    expect(await row(id)).toMatchObject({ state: 'skipped', reason, outbox: [] });
    // A later success of the same commit does not bring it back.
    await send('check_suite', checkSuitePayload(REPO, sha, 'success', { app: 'Travis', id: 7 }));
    expect(await row(id)).toMatchObject({ state: 'skipped', outbox: [] });
  });

  it('builds at once when the checks passed before GitHub delivered the push', async () => {
    const sha = fakeSha('gate-early');
    await send('check_suite', checkSuitePayload(REPO, sha, 'success'));
    const pushed = await push(sha);
    expect(pushed.deployments).toEqual([{ id: expect.any(String), app: app.name, environment: 'staging' }]);
    expect(await row(pushed.deployments[0].id)).toMatchObject({ state: 'queued', outbox: ['build'] });
  });

  it('is skipped at once when a check failed before the push came', async () => {
    const sha = fakeSha('gate-early-fail');
    await send('check_run', checkRunPayload(REPO, sha, 'lint', 'failure'));
    const pushed = await push(sha);
    expect(pushed.deployments[0].state).toBe('skipped');
    expect(await row(pushed.deployments[0].id)).toMatchObject({
      state: 'skipped',
      reason: 'check run "lint" did not pass (failure): not built',
      outbox: [],
    });
  });

  it('is superseded by a newer push, whose checks alone then count', async () => {
    const [first, second] = [fakeSha('gate-old'), fakeSha('gate-new')];
    const older = (await push(first)).deployments[0].id;
    const newer = (await push(second)).deployments[0].id;
    expect(await row(older)).toMatchObject({ state: 'superseded', outbox: [] });
    await send('check_suite', checkSuitePayload(REPO, first, 'success'));
    expect(await row(older)).toMatchObject({ state: 'superseded', outbox: [] });
    expect(await row(newer)).toMatchObject({ state: 'waiting_for_checks', outbox: [] });
    await send('check_suite', checkSuitePayload(REPO, second, 'success'));
    expect(await row(newer)).toMatchObject({ state: 'queued', outbox: ['build'] });
  });

  it('ignores a replayed older failure once a newer success of that check is kept', async () => {
    const sha = fakeSha('gate-replay');
    await send('check_run', checkRunPayload(REPO, sha, 'test', 'success', '2030-01-01T00:00:10Z'));
    const replay = await send('check_run', checkRunPayload(REPO, sha, 'test', 'failure', '2030-01-01T00:00:05Z'));
    expect(replay.json().ignored).toContain('is not newer than the result kept');
    const pushed = await push(sha);
    expect(await row(pushed.deployments[0].id)).toMatchObject({ state: 'queued', outbox: ['build'] });
  });

  it('can be cancelled while it waits', async () => {
    const id = (await push(fakeSha('gate-cancel'))).deployments[0].id;
    const res = await api.request({ method: 'POST', url: `/deployments/${id}/cancel` });
    expect(res.statusCode, res.body).toBe(202);
    expect(await row(id)).toMatchObject({ state: 'cancelled', outbox: [] });
  });

  it('is skipped when its checks do not finish before the deadline', async () => {
    const id = (await push(fakeSha('gate-timeout'))).deployments[0].id;
    const { CommitCheckStore } = await import('@pier/db');
    const checks = new CommitCheckStore(api.database.db);
    expect(await checks.skipOverdue(new Date(Date.now() + 60_000))).toBe(0);
    expect(await checks.skipOverdue(new Date(Date.now() + 1_800_000 + 60_000))).toBe(1);
    expect(await row(id)).toMatchObject({
      state: 'skipped',
      reason: "GitHub's checks of the commit did not finish within 30 min (checksTimeoutMs): not built",
      outbox: [],
    });
  });
});

describe('old check results', () => {
  it('go with old webhook deliveries; the pushes kept for ordering stay', async () => {
    const { CommitCheckStore } = await import('@pier/db');
    const checks = new CommitCheckStore(api.database.db);
    const sha = fakeSha('gate-old-results');
    await send('check_run', checkRunPayload(REPO, sha, 'ancient', 'success', '2001-01-01T00:00:00Z'));
    // A push's ordering row of the same age (as a push to a branch nothing tracks any more leaves behind).
    await api.database.sql`insert into ref_events (app_id, key, at, identity)
      select id, 'refs/heads/old', '2001-01-01', ${fakeSha('old-push')} from apps where name = ${app.name}`;
    const before = await api.database.sql`select key from ref_events where at < '2002-01-01'`;
    expect(before.map((r) => r.key).sort()).toEqual([`check:${sha}:check_run:suite-118578147:ancient`, 'refs/heads/old']);
    expect(await checks.deleteReportedBefore(new Date('2002-01-01T00:00:00Z'), 100)).toBe(1);
    const after = await api.database.sql`select key from ref_events where at < '2002-01-01'`;
    expect(after.map((r) => r.key)).toEqual(['refs/heads/old']);
  });
});

describe('required checks', () => {
  it('only the named checks count', async () => {
    const named = await createApp(api, uniqueAppName('gate-named'), { fullName: 'acme-gate/named', cloneUrl: 'file:///x.git' });
    const settings = await patchStaging(named.name, { waitForChecks: true, requiredChecks: ['test', 'build'] });
    expect(settings).toMatchObject({ waitForChecks: true, requiredChecks: ['test', 'build'], checksTimeoutMs: 1_800_000 });
    const sha = fakeSha('gate-named');
    const id = (await push(sha, named.secret, 'acme-gate/named')).deployments[0].id;
    const sendNamed = (name: string, conclusion: string) =>
      send('check_run', checkRunPayload('acme-gate/named', sha, name, conclusion), named.secret);
    await sendNamed('lint', 'failure');
    await sendNamed('test', 'success');
    expect(await row(id)).toMatchObject({ state: 'waiting_for_checks' });
    expect((await getDeployment(id)).checks).toMatchObject({ required: ['test', 'build'], waitingFor: ['build'] });
    await sendNamed('build', 'success');
    expect(await row(id)).toMatchObject({ state: 'queued', outbox: ['build'] });
  });

  it('a name two workflows share passes only when each one’s run passed; a re-run replaces its own run’s result', async () => {
    const named = await createApp(api, uniqueAppName('gate-twice'), { fullName: 'acme-gate/twice', cloneUrl: 'file:///x.git' });
    await patchStaging(named.name, { waitForChecks: true, requiredChecks: ['build'] });
    // GitHub Actions makes a check suite per workflow run: suites 11 and 12 are two workflows, each with a job `build`.
    const sendBuild = (sha: string, suite: number, conclusion: string | null, at: string) =>
      send('check_run', checkRunPayload('acme-gate/twice', sha, 'build', conclusion, at, suite), named.secret);
    const pushNamed = async (sha: string) => (await push(sha, named.secret, 'acme-gate/twice')).deployments[0].id as string;

    // Workflow 11's build failed, then workflow 12's passed: the failure still counts.
    const hidden = fakeSha('gate-twice-hidden');
    await sendBuild(hidden, 11, 'failure', '2030-01-01T00:00:01Z');
    await sendBuild(hidden, 12, 'success', '2030-01-01T00:00:02Z');
    expect(await row(await pushNamed(hidden))).toMatchObject({
      state: 'skipped',
      reason: 'check run "build" did not pass (failure): not built',
      outbox: [],
    });

    // One workflow's passed build does not pass the commit while the other's still runs.
    const running = fakeSha('gate-twice-running');
    await sendBuild(running, 11, null, '2030-01-01T00:00:01Z');
    const id = await pushNamed(running);
    await sendBuild(running, 12, 'success', '2030-01-01T00:00:02Z');
    expect(await row(id)).toMatchObject({ state: 'waiting_for_checks', outbox: [] });
    expect((await getDeployment(id)).checks).toMatchObject({ waitingFor: ['build'] });
    await sendBuild(running, 11, 'success', '2030-01-01T00:00:03Z');
    expect(await row(id)).toMatchObject({ state: 'queued', outbox: ['build'] });

    // Re-running workflow 11's failed job makes a new run of `build` in the same suite: its success replaces the failure.
    const rerun = fakeSha('gate-twice-rerun');
    await sendBuild(rerun, 11, 'failure', '2030-01-01T00:00:01Z');
    await sendBuild(rerun, 12, 'success', '2030-01-01T00:00:01Z');
    await sendBuild(rerun, 11, null, '2030-01-01T00:00:05Z');
    await sendBuild(rerun, 11, 'success', '2030-01-01T00:00:09Z');
    expect(await row(await pushNamed(rerun))).toMatchObject({ state: 'queued', outbox: ['build'] });
  });
});

describe('the default gate', () => {
  it('is on for staging once the repository has reported a check, and never for production', async () => {
    const fresh = await createApp(api, uniqueAppName('gate-default'), {
      fullName: 'acme-gate/default',
      cloneUrl: 'file:///y.git',
    });
    const env = await api.request({ method: 'GET', url: `/apps/${fresh.name}/environments/staging` });
    expect(env.json()).toMatchObject({ waitForChecks: null, requiredChecks: null, checksTimeoutMs: 1_800_000 });
    const first = await push(fakeSha('default-1'), fresh.secret, 'acme-gate/default');
    expect(first.deployments[0].state).toBeUndefined();

    await send('check_suite', checkSuitePayload('acme-gate/default', fakeSha('default-1'), 'success'), fresh.secret);
    const second = await push(fakeSha('default-2'), fresh.secret, 'acme-gate/default');
    expect(second.deployments[0].state).toBe('waiting_for_checks');

    await patchStaging(fresh.name, { waitForChecks: false });
    const third = await push(fakeSha('default-3'), fresh.secret, 'acme-gate/default');
    expect(third.deployments[0].state).toBeUndefined();
  });
});

describe('manual deploys', () => {
  const deploy = (payload: Record<string, unknown>) =>
    api.request({ method: 'POST', url: `/apps/${app.name}/environments/staging/deployments`, payload });

  it('build at once on a gated environment, unless asked to wait for a commit’s checks', async () => {
    const now = await deploy({ commit: fakeSha('manual-now'), skipChecks: true });
    expect(now.statusCode, now.body).toBe(202);
    expect(await row(now.json().id)).toMatchObject({ state: 'queued', outbox: ['build'] });

    const sha = fakeSha('manual-wait');
    const waits = await deploy({ commit: sha, waitForChecks: true });
    expect(waits.statusCode, waits.body).toBe(202);
    expect(waits.json()).toMatchObject({ state: 'waiting_for_checks', trigger: 'manual', checks: { waitingFor: [] } });
    await send('check_suite', checkSuitePayload(REPO, sha, 'success'));
    expect(await row(waits.json().id)).toMatchObject({ state: 'queued', outbox: ['build'] });
  });

  it('are refused, naming the field, when waiting has no commit or contradicts skipChecks', async () => {
    expectError(await deploy({ branch: 'main', waitForChecks: true }), 422, 'validation_failed', 'waitForChecks');
    expectError(
      await deploy({ commit: fakeSha('both'), waitForChecks: true, skipChecks: true }),
      422,
      'validation_failed',
      'skipChecks',
    );
  });
});

describe('gate settings', () => {
  it.each([
    [{ checksTimeoutMs: 1000 }, 'checksTimeoutMs'],
    [{ requiredChecks: [] }, 'requiredChecks'],
    [{ requiredChecks: ['ok', ''] }, 'requiredChecks'],
    [{ requiredChecks: ['bad\u0007bell'] }, 'requiredChecks'],
    [{ waitForChecks: 'yes' }, 'waitForChecks'],
  ])('refuses %j naming the field', async (payload, field) => {
    const res = await api.request({ method: 'PATCH', url: `/apps/${app.name}/environments/production`, payload });
    expectError(res, 422, 'validation_failed', field);
  });

  it('null brings back the defaults', async () => {
    await patchStaging(app.name, { requiredChecks: ['x'], checksTimeoutMs: 120_000 });
    expect(await patchStaging(app.name, { requiredChecks: null, waitForChecks: true })).toMatchObject({
      waitForChecks: true,
      requiredChecks: null,
      checksTimeoutMs: 120_000,
    });
  });
});
