import { randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { apiCaller, removeDockerLeftovers, waitUntilLive } from '../cli/cli-harness.ts';
import { type BrowserSession, buildDashboard, openBrowser, signIn, signOut } from '../support/browser.ts';
import { versionedApp } from '../support/deploy-app.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';

// Issue 16's processes and settings pages in a real Chromium against a real api, worker and proxy:
// scaling, a one-off run's live output, an app token shown once, what an app token's session sees, revoking it.

const run = randomBytes(3).toString('hex');
const app = `ops-${run}`;
/** A second app, which an app token of the first must not see. */
const otherApp = `ops-${run}-b`;
const tokenName = `ci ${run}`;

/** Quick health polling, one good answer enough (as in the CLI flow). */
const FAST = {
  replicas: 1,
  drainTimeoutMs: 1000,
  healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 30_000 },
};

let stack: PierStack;
let repo: TestGitRepository;
let call: ReturnType<typeof apiCaller>;
let session: BrowserSession;
/** The app token created on the settings page, as the page showed it once. */
let appToken = '';

/** Waits until nothing matches `locator` (what the page hides or removes). */
async function gone(locator: Locator): Promise<void> {
  await expect.poll(() => locator.count(), { timeout: 10_000 }).toBe(0);
}

beforeAll(async () => {
  stack = await startPierStack({ api: { PIER_DASHBOARD_DIR: await buildDashboard() } });
  call = apiCaller(stack.apiUrl, stack.adminToken);
  repo = new TestGitRepository();
  session = await openBrowser(stack.apiUrl);
}, 180_000);

afterAll(async () => {
  try {
    await session?.close();
    await stack?.stop([app, otherApp]);
  } finally {
    await removeDockerLeftovers([`pier-${app}-staging`, `pier-${app}-production`], `pier-${app}-`);
    repo?.remove();
  }
}, 120_000);

describe('the processes and settings pages', () => {
  it('deploys an app through the API (setup)', async () => {
    repo.commit(versionedApp('v1'), 'v1');
    repo.push();
    const created = await call('/apps', {
      method: 'POST',
      body: { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } },
    });
    expect(created.status, created.text).toBe(201);
    expect((await call('/apps', { method: 'POST', body: { name: otherApp } })).status).toBe(201);
    const fast = await call(`/apps/${app}/environments/staging`, { method: 'PATCH', body: FAST });
    expect(fast.status, fast.text).toBe(200);
    const deployment = await call(`/apps/${app}/environments/staging/deployments`, { method: 'POST', body: {} });
    expect(deployment.status, deployment.text).toBe(202);
    await waitUntilLive(call, deployment.json.id, 150_000);
  }, 180_000);

  it('scales web to 2 and shows a one-off run’s output and exit code', async () => {
    const { page } = session;
    await signIn(session, stack.adminToken);
    await page.goto(`/#/apps/${app}/processes/staging`);
    await page.getByRole('heading', { name: 'Processes', level: 2 }).waitFor();

    const web = page.locator('tr[data-process="web"]');
    await expect.poll(() => web.getByText('1 of 1').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.getByLabel('Replicas of web').fill('2');
    await web.getByRole('button', { name: 'Scale' }).click();
    await web.getByRole('status').filter({ hasText: 'web scaled to 2' }).waitFor();
    // The second replica starts and turns healthy; the page follows through the change feed.
    await web.getByText('2 of 2').waitFor({ timeout: 90_000 });
    await expect
      .poll(() => page.locator('tr[data-replica-process="web"][data-replica-state="serving"]').count(), { timeout: 30_000 })
      .toBe(2);

    await page.getByLabel('Command').fill("sh -c 'echo hello; exit 3'");
    await page.getByRole('button', { name: 'Start run' }).click();
    const output = page.getByRole('log', { name: 'Run output' });
    await output.getByText('hello', { exact: true }).waitFor({ timeout: 90_000 });
    await page.locator('.run-output-state').getByText('exit code 3').waitFor({ timeout: 60_000 });
    // The list shows it ended too (live from the runs table).
    const row = page.locator('tr[aria-current="true"]');
    await row.getByText('exit 3', { exact: true }).waitFor({ timeout: 15_000 });
    await row.getByText('failed', { exact: true }).waitFor();

    await session.screenshot('processes');
    expect(session.problems).toEqual([]);
  }, 240_000);

  it('creates an app token shown once; its session sees only its app and no admin sections', async () => {
    const { page } = session;
    await page.goto('/#/settings');
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByLabel('Token name').fill(tokenName);
    await page.getByLabel('Confined to app').selectOption(app);
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByLabel('The value');
    await shown.waitFor();
    appToken = await shown.inputValue();
    expect(appToken.length).toBeGreaterThan(20);
    await page.getByText('Pier does not show it again').waitFor();
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await gone(page.getByLabel('The value'));
    expect(await page.content()).not.toContain(appToken);
    const listed = page.locator(`tr[data-token="${tokenName}"]`);
    await listed.getByRole('cell', { name: app, exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Host' }).waitFor();
    await session.screenshot('settings');

    await signOut(session);
    await signIn(session, appToken);
    await page.locator(`tr[data-app="${app}"]`).first().waitFor();
    const shownApps = await page.locator('tr[data-app]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-app')));
    expect(new Set(shownApps)).toEqual(new Set([app]));

    await page.goto('/#/settings');
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.getByText('app token: one app only').waitFor();
    await gone(page.getByRole('heading', { name: 'API tokens' }));
    await gone(page.getByRole('heading', { name: 'Host' }));
    await session.screenshot('settings-app-token');
    expect(session.problems).toEqual([]);
  }, 120_000);

  it('revokes the token as admin, after confirming', async () => {
    const { page } = session;
    await signOut(session);
    await signIn(session, stack.adminToken);
    await page.goto('/#/settings');
    await page.getByRole('button', { name: `Revoke ${tokenName}` }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke the token ${tokenName}?` });
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Token ${tokenName} revoked` })
      .waitFor();
    await gone(page.locator(`tr[data-token="${tokenName}"]`));

    const tokens = await call('/tokens');
    expect(tokens.json.tokens.map((t: { name: string }) => t.name)).not.toContain(tokenName);
    const refused = await fetch(`${stack.apiUrl}/apps/${app}`, { headers: { authorization: `Bearer ${appToken}` } });
    expect(refused.status).toBe(401);
    expect(session.problems).toEqual([]);
  }, 60_000);
});
