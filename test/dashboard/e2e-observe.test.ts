import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestGitRepository } from '../../packages/source/src/testing/git-repository.ts';
import { apiCaller, loggingApp, proxyAnswers, removeDockerLeftovers, waitUntilLive } from '../cli/cli-harness.ts';
import { type BrowserSession, buildDashboard, openBrowser, signIn } from '../support/browser.ts';
import { type PierStack, startPierStack } from '../support/pier-stack.ts';
import { getViaProxy } from '../support/proxy.ts';

/**
 * The dashboard's Logs, Metrics and Events pages in Chromium against a real
 * api, worker and proxy: the deploy.live event appearing on the events page
 * while the page is open, then filtered by kind and severity; the app's lines
 * arriving live in the logs page as requests reach it, filtered by text, paused
 * and resumed; and the request, latency, 5xx, CPU and memory charts of the
 * last hour drawn from what the proxy and the worker's collector measured.
 */

const run = randomBytes(3).toString('hex');
const app = `e2o-${run}`;
const host = `${app}-staging.pier.test`;

/** Quick health polling, one good answer enough. */
const FAST = {
  replicas: 1,
  drainTimeoutMs: 500,
  healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: 30_000 },
};

/** The CLI tests' logging app, also logging `/err…` to stderr and answering `/boom` with a 500. */
const LOGGING_APP = ((files) => ({
  ...files,
  'server.js': (files['server.js'] as string).replace(
    "console.log('served ' + req.url);",
    "if (req.url.startsWith('/err')) console.error('failed ' + req.url); else console.log('served ' + req.url);\n  if (req.url === '/boom') { res.statusCode = 500; return res.end('boom'); }",
  ),
}))(loggingApp('ok'));

let stack: PierStack;
let session: BrowserSession;
let repo: TestGitRepository;
let call: ReturnType<typeof apiCaller>;

async function ok(route: string, init: { method?: string; body?: unknown } = {}) {
  const answer = await call(route, init);
  expect(answer.status, `${init.method ?? 'GET'} ${route}: ${answer.text}`).toBeLessThan(300);
  return answer.json;
}

const request = (path: string) => getViaProxy(stack.proxy.httpPort, host, path);

beforeAll(async () => {
  // Replicas sampled every 2 s, not every minute, and requests counted every second, not every 10:
  // the charts have points soon.
  stack = await startPierStack({
    api: { PIER_DASHBOARD_DIR: await buildDashboard() },
    worker: { PIER_METRICS_INTERVAL_MS: '2000' },
    proxy: { PIER_PROXY_METRICS_FLUSH_MS: '1000' },
  });
  call = apiCaller(stack.apiUrl, stack.adminToken);
  repo = new TestGitRepository();
  repo.commit(LOGGING_APP, 'v1');
  repo.push();
  await ok('/apps', { method: 'POST', body: { name: app, repository: { fullName: `acme/${app}`, cloneUrl: repo.url } } });
  await ok(`/apps/${app}/environments/staging`, { method: 'PATCH', body: FAST });
  session = await openBrowser(stack.apiUrl);
  await signIn(session, stack.adminToken);
}, 180_000);

afterAll(async () => {
  try {
    await session?.close();
    await stack?.stop([app]);
  } finally {
    await removeDockerLeftovers([`pier-${app}-staging`], `pier-${app}-`);
    repo?.remove();
  }
}, 120_000);

describe('the Logs, Metrics and Events pages', () => {
  it('shows the deploy.live event arrive on the open events page, and filters by kind and severity', async () => {
    const { page } = session;
    await page.goto(`/#/apps/${app}/events`);
    await page.getByRole('heading', { name: `Events of ${app}` }).waitFor();
    await page.getByText('No events yet.').waitFor();

    const deployment = await ok(`/apps/${app}/environments/staging/deployments`, { method: 'POST', body: {} });
    // Nothing reloads the page: the change feed brings the events in.
    const liveRow = page.getByRole('row').filter({ hasText: 'deploy.live' });
    await liveRow.waitFor({ timeout: 150_000 });
    await expect.poll(() => liveRow.textContent(), { timeout: 15_000 }).toContain(`${app} staging: v1 is live`);
    await expect.poll(() => liveRow.getByText('info').count(), { timeout: 15_000 }).toBe(1);
    await waitUntilLive(call, deployment.id);
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'deploy.queued' }).count(), { timeout: 15_000 }).toBe(1);

    await page.getByLabel('Kind').selectOption('deploy.live');
    await expect.poll(() => page.getByRole('row').count(), { timeout: 15_000 }).toBe(2); // the header and deploy.live
    expect(page.url()).toContain('kind=deploy.live');
    await page.getByLabel('Severity').selectOption('critical');
    await page.getByText('deploy.live events are info, not critical').waitFor();
    await page.getByLabel('Kind').selectOption('');
    await page.getByText('No events match these filters.').waitFor();

    // Every app's events: the app's name links to its own.
    await page.goto('/#/events');
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'deploy.live' }).filter({ hasText: app });
    await row.waitFor();
    await expect
      .poll(() => row.getByRole('link', { name: app }).getAttribute('href'), { timeout: 15_000 })
      .toBe(`#/apps/${app}/events`);
    await session.screenshot('observe-events');
    expect(session.problems).toEqual([]);
  }, 200_000);

  it('tails the logs live while the app prints, filters them by text, pauses and resumes', async () => {
    const { page } = session;
    await proxyAnswers(stack.proxy.httpPort, host, 'ok');
    await page.goto(`/#/apps/${app}/logs/staging`);
    const box = page.getByRole('log', { name: `Log lines of ${app} staging` });
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    // Printed after the page opened: they arrive through the stream.
    await request(`/first-${run}`);
    await request(`/err-${run}`);
    await box.getByText(`served /first-${run}`).waitFor({ timeout: 30_000 });
    const stderr = box.locator('.line.stderr').filter({ hasText: `failed /err-${run}` });
    await stderr.waitFor();
    expect(await stderr.textContent()).toContain('stderr');
    // The app's text is shown as text.
    await request(`/<b>bold-${run}</b>`);
    await box.getByText(`served /<b>bold-${run}</b>`).waitFor({ timeout: 30_000 });
    expect(await box.locator('b').count()).toBe(0);

    await page.getByLabel('Text').fill(`second-${run}`);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `filtered by “second-${run}”` })
      .waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await request(`/first-${run}-again`);
    await request(`/second-${run}`);
    await box.getByText(`served /second-${run}`).waitFor({ timeout: 30_000 });
    const lines = await box.locator('.line').allTextContents();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toContain(`second-${run}`);

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused' }).waitFor();
    await request(`/second-${run}-while-paused`);
    // Stored by Pier, yet not shown while paused.
    const stored = async () =>
      (
        (await call(`/apps/${app}/environments/staging/logs?text=${encodeURIComponent(`second-${run}-while-paused`)}`)).json
          ?.lines ?? []
      ).length;
    await expect.poll(stored, { timeout: 30_000, interval: 500 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await box.getByText(`served /second-${run}-while-paused`).count()).toBe(0);
    await page.getByRole('button', { name: 'Resume' }).click();
    // Resuming carries on after the last line shown: what was printed meanwhile is not lost.
    await box.getByText(`served /second-${run}-while-paused`).waitFor({ timeout: 30_000 });
    await session.screenshot('observe-logs');
    expect(session.problems).toEqual([]);
  }, 120_000);

  it('draws the request, latency, 5xx, CPU and memory charts of the last hour', async () => {
    const { page } = session;
    for (let i = 0; i < 20; i++) await request(`/chart-${i}`);
    await request('/boom');
    // The proxy adds what it counted every second; the worker samples the replica every 2 s.
    await expect
      .poll(
        async () => {
          const m = (await call(`/apps/${app}/environments/staging/metrics?since=1h`)).json;
          const errors = m.requests.reduce((n: number, p: { byClass: Record<string, number> }) => n + (p.byClass['5xx'] ?? 0), 0);
          return errors === 1 && m.processes.some((p: { replicas: unknown[] }) => p.replicas.length > 0);
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(true);

    await page.goto(`/#/apps/${app}/metrics/staging`);
    await expect
      .poll(() => page.getByRole('button', { name: 'Last hour' }).getAttribute('aria-pressed'), { timeout: 15_000 })
      .toBe('true');
    for (const name of ['Requests per second', 'Latency', '5xx share', 'CPU (cores)', 'Memory']) {
      const figure = page.getByRole('figure', { name });
      await figure.waitFor();
      await figure.locator('canvas').first().waitFor();
    }
    expect(await page.getByText('No data yet.').count()).toBe(0);
    // Each chart's text alternative says what it shows.
    await expect
      .poll(() => page.getByRole('figure', { name: 'Requests per second' }).textContent())
      .toMatch(/\d+ requests in the last hour/);
    await expect
      .poll(() => page.getByRole('figure', { name: '5xx share' }).textContent())
      .toMatch(/answered 5xx in the last hour \(1 of \d+\)/);
    await expect
      .poll(() => page.getByRole('figure', { name: 'Memory' }).textContent(), { timeout: 15_000 })
      .toMatch(/web: latest [\d.]+ (KiB|MiB)/);
    await session.screenshot('observe-metrics');

    await page.getByRole('button', { name: 'Last week' }).click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Last week' }).getAttribute('aria-pressed'), { timeout: 15_000 })
      .toBe('true');
    await page.getByRole('figure', { name: 'Latency' }).locator('canvas').first().waitFor();

    // At 320 px the charts shrink with their container.
    await page.setViewportSize({ width: 320, height: 800 });
    await expect
      .poll(
        async () => (await page.getByRole('figure', { name: 'Latency' }).locator('canvas').first().boundingBox())?.width ?? 999,
      )
      .toBeLessThanOrEqual(300);
    await session.screenshot('observe-metrics-320');
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(session.problems).toEqual([]);
  }, 120_000);
});
