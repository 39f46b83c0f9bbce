import { randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { apiCaller, loggingApp, removeDockerLeftovers, waitUntilLive } from '../cli/cli-harness.ts';
import { type BrowserSession, buildDashboard, openBrowser, signIn } from '../support/browser.ts';
import { versionedApp } from '../support/deploy-app.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';

/**
 * The dashboard's App and Deployment pages in Chromium against a real api,
 * worker and proxy: an app created in the UI, deployed from the App page's
 * form with its build output streaming into the deployment page while it
 * runs, a second version rolled back to the first from the releases list,
 * staging promoted to production after a confirmation that shows what
 * differs (variable names only), and an app whose replicas keep exiting
 * flagged crash-looping on the apps page and its App page.
 */

const run = randomBytes(3).toString('hex');
const app = `e2d-${run}`;
const crashApp = `e2d-${run}-crash`;
/** Variable values: none may show on the page, which names variables only. */
const SECRET_VALUES = [`staging-only-${run}`, `prod-only-${run}`, `shared-a-${run}`, `shared-b-${run}`];

/** Quick health polling, one good answer enough. */
const FAST = {
  replicas: 1,
  drainTimeoutMs: 500,
  healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 30_000 },
};

/** Healthy at once, then exits after 8 s: it goes live, and every restart crashes again (a crash loop). */
function crashingApp(): Record<string, string> {
  const files = versionedApp('crashing');
  return { ...files, 'server.js': `${files['server.js']}\nsetTimeout(() => process.exit(3), 8000);\n` };
}

/**
 * A build step that prints a line a second: the deployment page sees them arrive while it runs. The run's own
 * string is in it, so that a layer cached by an interrupted run can never skip the build output.
 */
const SLOW_BUILD = `RUN for i in 1 2 3 4 5 6; do echo "build line $i (${run})"; sleep 1; done`;

let stack: PierStack;
let session: BrowserSession;
let repo: TestGitRepository;
let crashRepo: TestGitRepository;
let call: ReturnType<typeof apiCaller>;

async function ok(route: string, init: { method?: string; body?: unknown } = {}) {
  const answer = await call(route, init);
  expect(answer.status, `${init.method ?? 'GET'} ${route}: ${answer.text}`).toBeLessThan(300);
  return answer.json;
}

/** The locator's text once it contains (or matches) `expected`; fails after `timeout`. */
async function textContains(locator: Locator, expected: string | RegExp, timeout = 15_000): Promise<void> {
  const text = () =>
    locator.textContent({ timeout: 1000 }).then(
      (t) => t ?? '',
      () => '',
    );
  if (typeof expected === 'string') await expect.poll(text, { timeout, interval: 200 }).toContain(expected);
  else await expect.poll(text, { timeout, interval: 200 }).toMatch(expected);
}

const countOf = (locator: Locator, n: number, timeout = 15_000) =>
  expect.poll(() => locator.count(), { timeout, interval: 200 }).toBe(n);

const liveVersion = async (env: string) =>
  ((await call(`/apps/${app}/environments/${env}/status`)).json?.liveRelease?.version as number | undefined) ?? null;

beforeAll(async () => {
  stack = await startPierStack({ api: { PIER_DASHBOARD_DIR: await buildDashboard() } });
  call = apiCaller(stack.apiUrl, stack.adminToken);
  repo = new TestGitRepository();
  crashRepo = new TestGitRepository();
  // The crashing app is set up first: its crash loop runs while the deploys below are driven.
  crashRepo.commit(crashingApp(), 'crashes');
  crashRepo.push();
  await ok('/apps', {
    method: 'POST',
    body: { name: crashApp, repository: { fullName: `acme/${crashApp}`, cloneUrl: crashRepo.url } },
  });
  await ok(`/apps/${crashApp}/environments/staging`, { method: 'PATCH', body: FAST });
  await ok(`/apps/${crashApp}/environments/staging/deployments`, { method: 'POST', body: {} });
  session = await openBrowser(stack.apiUrl);
  await signIn(session, stack.adminToken);
}, 180_000);

afterAll(async () => {
  try {
    await session?.close();
    await stack?.stop([app, crashApp]);
  } finally {
    await removeDockerLeftovers([`pier-${app}-staging`, `pier-${app}-production`, `pier-${crashApp}-staging`], `pier-${app}-`);
    repo?.remove();
    crashRepo?.remove();
  }
}, 120_000);

describe('the App and Deployment pages', () => {
  it('deploys from the App page and streams the build into the deployment page until it is live', async () => {
    const { page } = session;
    await page.getByText('Create an app').click();
    await page.getByLabel('Name').fill(app);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: app, level: 1 }).waitFor();

    // Setup the UI does not offer: the repository (a local one), quick health checks, variables of each environment.
    repo.commit(loggingApp('v1', 200, SLOW_BUILD), 'v1');
    repo.push();
    await ok(`/apps/${app}`, { method: 'PATCH', body: { repository: { fullName: `acme/${app}`, cloneUrl: repo.url } } });
    for (const env of ['staging', 'production']) await ok(`/apps/${app}/environments/${env}`, { method: 'PATCH', body: FAST });
    const [onlyStaging, onlyProd, sharedA, sharedB] = SECRET_VALUES;
    await ok(`/apps/${app}/environments/staging/variables`, {
      method: 'PATCH',
      body: { set: { ONLY_STAGING: onlyStaging, SHARED: sharedA } },
    });
    await ok(`/apps/${app}/environments/production/variables`, {
      method: 'PATCH',
      body: { set: { ONLY_PROD: onlyProd, SHARED: sharedB } },
    });

    const staging = page.getByRole('region', { name: 'staging', exact: true });
    await staging.getByText('none yet').first().waitFor();
    await staging.getByRole('button', { name: 'Deploy staging' }).click();
    await staging.getByRole('link', { name: /follow deployment/ }).click();
    await page.getByRole('heading', { name: /Deployment/, level: 2 }).waitFor();

    const log = page.getByRole('log', { name: 'Build output' });
    const badge = page.locator('.deployment-title .badge');
    // Lines arrive while the build runs: the first is there before the build is over.
    await textContains(log, 'build line 1', 90_000);
    expect(await badge.textContent()).toMatch(/queued|building/);
    await textContains(log, 'build line 6', 30_000);
    await textContains(badge, /^live$/, 90_000);
    // The rollout's lines follow the build's.
    await textContains(log, 'switching traffic');
    await countOf(page.getByRole('button', { name: 'Cancel deployment' }), 0);
    await page.getByText('Build finished').waitFor();
    await session.screenshot('deployment');
    expect(session.problems).toEqual([]);
  }, 180_000);

  it('deploys a second version, then rolls back to the first from the releases list', async () => {
    const { page } = session;
    repo.commit(loggingApp('v2'), 'v2');
    repo.push();
    await page.goto(`/#/apps/${app}`);
    const staging = page.getByRole('region', { name: 'staging', exact: true });
    await staging.getByLabel('What to deploy').selectOption('branch');
    await staging.getByLabel('Branch').fill('main');
    await staging.getByRole('button', { name: 'Deploy staging' }).click();
    const started = staging.getByRole('link', { name: /follow deployment/ });
    const id = ((await started.getAttribute('href')) ?? '').split('/').pop() as string;
    await waitUntilLive(call, id);

    // The deployments list updates live: both deployments, the newest live.
    const newest = page.locator(`tr[data-deployment="${id}"]`);
    await newest.getByText('live').waitFor({ timeout: 15_000 });
    await countOf(page.locator('tr[data-deployment]'), 2);

    await staging.getByRole('button', { name: 'Roll back to v1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll staging back to v1?' });
    await dialog.getByRole('button', { name: 'Roll back to v1' }).click();
    const notice = staging.getByRole('status').filter({ hasText: 'Rolling staging back to v1' });
    const rollback = ((await notice.getByRole('link').getAttribute('href')) ?? '').split('/').pop() as string;
    await waitUntilLive(call, rollback);
    expect(await liveVersion('staging')).toBe(1);
    // The card follows: v1 live again, so no earlier release to roll back to.
    await countOf(staging.getByRole('button', { name: /Roll back to/ }), 0);
    await textContains(page.locator(`tr[data-deployment="${rollback}"]`), 'rollback');
    await session.screenshot('app');
    expect(session.problems).toEqual([]);
  }, 180_000);

  it('promotes staging to production after showing what differs, by variable name only', async () => {
    const { page } = session;
    await page.getByRole('button', { name: 'Promote staging to production…' }).click();
    const dialog = page.getByRole('dialog', { name: `Promote release v1 of ${app} from staging to production?` });
    await textContains(dialog, 'Variables only in staging: ONLY_STAGING');
    await textContains(dialog, 'Variables only in production: ONLY_PROD');
    await textContains(dialog, 'Variables whose values differ: SHARED');
    await textContains(dialog, 'production has no live release yet');
    const text = (await page.locator('body').textContent()) ?? '';
    for (const value of SECRET_VALUES) expect(text).not.toContain(value);
    await session.screenshot('promote-dialog');

    await dialog.getByRole('button', { name: 'Promote' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const notice = page.getByRole('status').filter({ hasText: 'Promoting v1 to production' });
    const id = ((await notice.getByRole('link').getAttribute('href')) ?? '').split('/').pop() as string;
    const promoted = await waitUntilLive(call, id);
    expect(promoted.trigger).toBe('promote');
    const production = page.getByRole('region', { name: 'production', exact: true });
    await textContains(production.locator('.env-facts .badge').first(), /^live$/);
    expect(await liveVersion('production')).toBe(1);
    expect(session.problems).toEqual([]);
  }, 120_000);

  it('flags a crash-looping app on the apps page and on its App page', async () => {
    const { page } = session;
    // Looping first, by the API: the pages are then loaded while its restarts back off (40 s after the third crash).
    await expect
      .poll(async () => (await call(`/apps/${crashApp}/environments/staging/status`)).json?.health, {
        timeout: 150_000,
        interval: 500,
      })
      .toBe('crash-looping');
    await page.goto('/#/');
    const row = page.locator(`tr[data-app="${crashApp}"][data-env="staging"]`);
    await row.getByText('crash-looping').waitFor({ timeout: 15_000 });
    await session.screenshot('apps-crash-looping');

    await page.goto(`/#/apps/${crashApp}`);
    const staging = page.getByRole('region', { name: 'staging', exact: true });
    await textContains(staging.getByRole('alert'), /Crash-looping: the web replicas crashed \d+ times in a row/);
    await textContains(staging.locator('.env-facts .badge').first(), /^crash-looping$/);
    await session.screenshot('app-crash-looping');
    expect(session.problems).toEqual([]);
  }, 180_000);
});
