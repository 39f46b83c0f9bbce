import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { type BrowserSession, buildDashboard, openBrowser, signIn } from '../support/browser.ts';

/**
 * Every page of the dashboard, in Chromium at a phone's 320 px and at a wide
 * screen: it renders without a console error or a failed request, the page
 * itself never scrolls sideways, every control has an accessible name, and
 * the keyboard reaches it. A screenshot of each page at each width is written
 * to test-artifacts/dashboard/.
 */

// These run in the page (page.evaluate): the test's own types know no DOM.
declare const document: any;
declare const getComputedStyle: (el: unknown) => { outlineStyle: string };

const APP = 'pages-app';
const SERVICE = 'pages-db';
let api: TestApi;
let base: string;

let deploymentId = '';

/** What each page shows once loaded: its heading, and where there is data, one piece of it. */
type Content = { role: 'link' | 'rowheader'; name: string } | { text: string };
const pages = (): readonly { name: string; hash: string; heading: string | RegExp; content?: Content }[] => [
  { name: 'apps', hash: '#/', heading: 'Apps', content: { role: 'link', name: APP } },
  { name: 'app', hash: `#/apps/${APP}`, heading: APP },
  { name: 'variables', hash: `#/apps/${APP}/variables/staging`, heading: APP, content: { role: 'rowheader', name: 'GREETING' } },
  { name: 'logs', hash: `#/apps/${APP}/logs/staging`, heading: APP },
  { name: 'metrics', hash: `#/apps/${APP}/metrics/staging`, heading: APP },
  { name: 'processes', hash: `#/apps/${APP}/processes/staging`, heading: APP },
  {
    name: 'domains',
    hash: `#/apps/${APP}/domains/production`,
    heading: APP,
    content: { role: 'rowheader', name: 'pages.example.org' },
  },
  { name: 'app-events', hash: `#/apps/${APP}/events`, heading: APP },
  { name: 'deployment', hash: `#/apps/${APP}/deployments/${deploymentId}`, heading: APP, content: { text: 'manual' } },
  { name: 'services', hash: '#/services', heading: 'Services', content: { role: 'link', name: SERVICE } },
  { name: 'service', hash: `#/services/${SERVICE}`, heading: SERVICE },
  { name: 'events', hash: '#/events', heading: 'Events' },
  { name: 'settings', hash: '#/settings', heading: 'Settings' },
];

beforeAll(async () => {
  api = await createTestApi({ dashboardDir: await buildDashboard() });
  base = await api.app.listen({ host: '127.0.0.1', port: 0 });
  const created = await api.request({ method: 'POST', url: '/apps', payload: { name: APP } });
  expect(created.statusCode, created.body).toBe(201);
  await api.request({
    method: 'PATCH',
    url: `/apps/${APP}/environments/staging/variables`,
    payload: { set: { GREETING: 'hello' } },
  });
  await api.request({
    method: 'POST',
    url: `/apps/${APP}/environments/production/domains`,
    payload: { hostname: 'pages.example.org' },
  });
  // The service row only: no worker runs here, so it stays as it is queued.
  const service = await api.request({ method: 'POST', url: '/services', payload: { name: SERVICE, type: 'postgres' } });
  expect(service.statusCode, service.body).toBeLessThan(300);
  // No worker runs here either: the deployment stays queued.
  const deployment = await api.request({
    method: 'POST',
    url: `/apps/${APP}/environments/staging/deployments`,
    payload: { image: 'registry.example.org/pages-app:1' },
  });
  expect(deployment.statusCode, deployment.body).toBe(202);
  deploymentId = (deployment.json() as { id: string }).id;
}, 120_000);

/** Waits until nothing on the page is loading (no `aria-busy="true"`) and its content, if any, is shown. */
async function settle(session: BrowserSession, content: Content | undefined): Promise<void> {
  const { page } = session;
  await expect.poll(() => page.locator('[aria-busy="true"]').count(), { timeout: 15_000 }).toBe(0);
  if (!content) return;
  const shown =
    'text' in content ? page.getByText(content.text, { exact: true }) : page.getByRole(content.role, { name: content.name });
  await shown.first().waitFor({ timeout: 15_000 });
}

afterAll(async () => {
  await api?.close();
});

/** What a page must hold at any width: no sideways scroll of the page, a name for every control. */
async function checkPage(session: BrowserSession, width: number): Promise<string[]> {
  return session.page.evaluate((viewport) => {
    const faults: string[] = [];
    if (document.documentElement.scrollWidth > viewport + 1)
      faults.push(`the page is ${document.documentElement.scrollWidth}px wide at ${viewport}px`);
    const visible = (el: any) => el.offsetParent !== null;
    for (const el of document.querySelectorAll('input, select, textarea')) {
      const input = el;
      if (input.type === 'hidden' || !visible(el)) continue;
      const named = (input.labels?.length ?? 0) > 0 || input.getAttribute('aria-label') || input.getAttribute('aria-labelledby');
      if (!named) faults.push(`a ${el.tagName.toLowerCase()} without a label: ${el.outerHTML.slice(0, 120)}`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!visible(el)) continue;
      const name = (el.textContent ?? '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
      if (!name) faults.push(`a ${el.tagName.toLowerCase()} without a name: ${el.outerHTML.slice(0, 120)}`);
    }
    return faults;
  }, width);
}

describe('every page', () => {
  for (const width of [320, 1600]) {
    it(`renders at ${width}px without errors, sideways scrolling or unnamed controls`, async () => {
      const session = await openBrowser(base, { width, height: 900 });
      try {
        await session.page.goto('/');
        await session.page.getByLabel('API token').waitFor();
        expect(await checkPage(session, width), `sign-in at ${width}px`).toEqual([]);
        await session.screenshot(`page-sign-in-${width}`);
        await signIn(session, api.adminToken);
        for (const page of pages()) {
          await session.page.goto(`/${page.hash}`);
          await session.page.getByRole('heading', { level: 1, name: page.heading }).first().waitFor();
          // Let the page's own requests settle (a stream stays open: not waited for).
          await session.page.waitForLoadState('networkidle', { timeout: 3000 }).catch(() => {});
          await settle(session, page.content);
          expect(await checkPage(session, width), `${page.name} at ${width}px`).toEqual([]);
          await session.screenshot(`page-${page.name}-${width}`);
        }
        expect(session.problems).toEqual([]);
      } finally {
        await session.close();
      }
    }, 120_000);
  }

  it('works with the keyboard: sign in, move between pages, see where the focus is', async () => {
    const session = await openBrowser(base);
    try {
      const { page } = session;
      await page.goto('/');
      await page.getByLabel('API token').waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('password');
      await page.keyboard.type(api.adminToken);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
      // The first Tab reaches the skip button; Enter on it moves the focus to the page's content.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
      // Tabbing on reaches the app's link; its focus ring is drawn.
      const link = page.getByRole('link', { name: APP, exact: true });
      for (let i = 0; i < 30 && !(await link.evaluate((el) => el === document.activeElement)); i++)
        await page.keyboard.press('Tab');
      expect(await link.evaluate((el) => el === document.activeElement)).toBe(true);
      const outline = await link.evaluate((el) => getComputedStyle(el).outlineStyle);
      expect(outline).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.waitForURL(new RegExp(`#/apps/${APP}$`));
      expect(session.problems).toEqual([]);
    } finally {
      await session.close();
    }
  });
});
