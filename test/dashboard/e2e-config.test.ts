import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCaller, removeDockerLeftovers } from '../cli/cli-harness.ts';
import { type BrowserSession, buildDashboard, openBrowser, signIn } from '../support/browser.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';

// Issue 16's variables, domains and services pages in a real Chromium against a real api, worker and proxy:
// values hidden until revealed one by one, edit, remove, a pasted .env, the API's error at the key field;
// a managed Postgres created, linked and shown as injected; a custom domain with the DNS records to create.

const run = randomBytes(3).toString('hex');
const app = `cfg-${run}`;
const database = `cfg-${run}-db`;
const hostname = `www.cfg-${run}.example`;
const SECRET = `hello ${run}`;

let stack: PierStack;
let call: ReturnType<typeof apiCaller>;
let session: BrowserSession;

beforeAll(async () => {
  stack = await startPierStack({ api: { PIER_DASHBOARD_DIR: await buildDashboard() } });
  call = apiCaller(stack.apiUrl, stack.adminToken);
  session = await openBrowser(stack.apiUrl);
  const created = await call('/apps', { method: 'POST', body: { name: app } });
  expect(created.status, created.text).toBe(201);
}, 180_000);

afterAll(async () => {
  try {
    await session?.close();
    // Removes this instance's containers, the service's included.
    await stack?.stop([app]);
  } finally {
    await removeDockerLeftovers(
      [`pier-svc-${database}`, `pier-${app}-staging`, `pier-${app}-production`],
      `pier-svc-${database}`,
    );
  }
}, 120_000);

describe('the variables, domains and services pages', () => {
  it('adds a variable hidden until revealed, edits, removes, imports a .env and shows the API’s key error', async () => {
    const { page } = session;
    await signIn(session, stack.adminToken);
    await page.goto(`/#/apps/${app}/variables/staging`);
    await page.getByRole('heading', { name: 'Variables of staging' }).waitFor();

    await page.getByLabel('Name', { exact: true }).fill('GREETING');
    await page.getByLabel('Value', { exact: true }).fill(SECRET);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'set GREETING' }).waitFor();
    const row = page.getByRole('row', { name: /GREETING/ });
    await row.getByText('(hidden)').waitFor();
    // Hidden means absent: the value is not in the page until it is revealed.
    expect(await page.content()).not.toContain(SECRET);
    await session.screenshot('variables');

    await page.getByRole('button', { name: 'Reveal GREETING' }).click();
    await row.getByText(SECRET).waitFor();
    await session.screenshot('variables-revealed');
    await page.getByRole('button', { name: 'Hide GREETING' }).click();
    await row.getByText('(hidden)').waitFor();
    expect(await page.content()).not.toContain(SECRET);

    await page.getByRole('button', { name: 'Edit GREETING' }).click();
    await page.getByLabel('New value of GREETING').fill('changed');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'set GREETING' }).waitFor();
    await page.getByRole('button', { name: 'Reveal GREETING' }).click();
    await row.getByText('changed', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Remove GREETING' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'removed GREETING' }).waitFor();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);

    await page.getByText('Import a .env').click();
    await page.getByLabel('.env contents').fill(`# pasted\nFIRST=1\nexport SECOND="two words"\nTHIRD='x' # note\n`);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    for (const key of ['FIRST', 'SECOND', 'THIRD']) await page.getByRole('rowheader', { name: key, exact: true }).waitFor();
    const stored = await call(`/apps/${app}/environments/staging/variables?reveal=true`);
    expect(stored.json.variables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'SECOND', value: 'two words' }),
        expect.objectContaining({ key: 'THIRD', value: 'x' }),
      ]),
    );

    session.expectError(422, '/variables');
    await page.getByLabel('Name', { exact: true }).fill('bad-key');
    await page.getByLabel('Value', { exact: true }).fill('x');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const keyField = page.getByLabel('Name', { exact: true });
    await expect.poll(() => keyField.getAttribute('aria-invalid'), { timeout: 15_000 }).toBe('true');
    const describedBy = (await keyField.getAttribute('aria-describedby')) ?? '';
    const error = page.locator(`[id="${describedBy.split(' ')[0]}"]`);
    await expect.poll(() => error.textContent(), { timeout: 15_000 }).toContain('invalid key');
    expect(session.problems).toEqual([]);
  }, 60_000);

  it('creates a Postgres service, links it to staging and shows DATABASE_URL injected with the service named', async () => {
    const { page } = session;
    await page.goto('/#/services');
    await page.getByRole('heading', { name: 'Services', level: 1 }).waitFor();
    await page.getByLabel('Type').selectOption('postgres');
    await page.getByLabel('Name', { exact: true }).fill(database);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Creating ${database}` })
      .waitFor();
    const row = page.getByRole('row', { name: new RegExp(database) });
    await row.getByText('ready').waitFor({ timeout: 90_000 });
    await session.screenshot('services');

    await row.getByRole('link', { name: database }).click();
    await page.getByRole('heading', { name: database, level: 1 }).waitFor();
    await page.getByLabel('App', { exact: true }).selectOption(app);
    await page.getByLabel('Environment', { exact: true }).selectOption('staging');
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Linked ${database} to ${app}/staging` })
      .waitFor();
    await page.getByRole('link', { name: `${app}/staging` }).waitFor();

    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByRole('status').filter({ hasText: 'Backup started' }).waitFor();
    // Verified by a restore into a scratch container; the table follows through the change feed.
    await page.getByRole('region', { name: 'Backups' }).getByText('verified', { exact: true }).waitFor({ timeout: 90_000 });
    await session.screenshot('service');

    await page.goto(`/#/apps/${app}/variables/staging`);
    const injected = page.getByRole('region', { name: 'Injected by linked services' });
    const databaseUrl = injected.getByRole('row', { name: /DATABASE_URL/ });
    await databaseUrl.waitFor();
    await expect.poll(() => databaseUrl.textContent(), { timeout: 15_000 }).toContain('injected (read-only)');
    await expect.poll(() => databaseUrl.textContent(), { timeout: 15_000 }).toContain(database);
    expect(await databaseUrl.getByRole('button').count()).toBe(0);
    expect(session.problems).toEqual([]);
  }, 150_000);

  it('adds a domain showing the DNS records to create, and removes it', async () => {
    const { page } = session;
    await page.goto(`/#/apps/${app}/domains/staging`);
    await page.getByLabel('Hostname', { exact: true }).fill(hostname);
    await page.getByRole('button', { name: 'Add domain' }).click();
    const records = page.getByRole('table', { name: `DNS records for ${hostname}` });
    await records.waitFor();
    await expect.poll(() => records.textContent(), { timeout: 15_000 }).toContain(`${app}-staging.`);
    expect(await records.getByRole('cell', { name: 'CNAME' }).count()).toBe(1);
    await page.getByRole('rowheader', { name: hostname }).waitFor();
    await session.screenshot('domains');

    await page.getByRole('button', { name: `Remove ${hostname}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove domain' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Removed ${hostname}` })
      .waitFor();
    await expect.poll(() => page.getByRole('rowheader', { name: hostname }).count(), { timeout: 15_000 }).toBe(0);
    expect((await call(`/apps/${app}/environments/staging/domains`)).json.domains).toEqual([]);
    expect(session.problems).toEqual([]);
  }, 60_000);
});
