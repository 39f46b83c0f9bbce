/**
 * `npm run bench:dashboard`: the dashboard's first load, in one run.
 *
 * The api (on the test Postgres, a private database) serves the built
 * dashboard with 100 apps (200 environments). Chromium (Debian's, headless,
 * a fresh profile each round) signs in by cookie and opens the apps page.
 * Printed per round and as medians:
 *  - the JavaScript transferred (compressed, as sent) for that first load,
 *    against the 150 KB budget;
 *  - the time from navigation to the 100 apps' rows rendered, against 1 s,
 *    and as a ratio to the baseline: the same 200 rows as a static HTML page
 *    served from loopback by a bare Node server in the same run (what the
 *    browser alone needs to show that table on this machine, now).
 *
 *   node --import tsx scripts/bench-dashboard.ts [--rounds 5]
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { createTestApi } from '../test/support/api.ts';
import { buildDashboard, CHROMIUM_ARGS } from '../test/support/browser.ts';
import setupTemplateDatabase from '../test/support/global-setup.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 50) throw new Error('--rounds: a whole number 1..50');
// Runs in the page (waitForFunction): this file's own types know no DOM.
declare const document: { querySelectorAll(selector: string): { length: number } };

const APPS = 100;
const JS_BUDGET = 150 * 1024;
const RENDER_BUDGET_MS = 1000;

const teardown = await setupTemplateDatabase();
const dashboardDir = await buildDashboard();
const api = await createTestApi({ dashboardDir });
const base = await api.app.listen({ host: '127.0.0.1', port: 0 });
const baseline = await staticTable();
try {
  for (let i = 0; i < APPS; i++) {
    const name = `bench-${String(i).padStart(3, '0')}`;
    const res = await api.request({ method: 'POST', url: '/apps', payload: { name } });
    if (res.statusCode !== 201) throw new Error(`creating ${name}: ${res.body}`);
  }
  const signIn = await api.request({ method: 'POST', url: '/session', token: null, payload: { token: api.adminToken } });
  const secret = /pier_session=([^;]+)/.exec(String(signIn.headers['set-cookie']))?.[1];
  if (!secret) throw new Error('no session cookie');

  const rows: { js: number; dashboardMs: number; baselineMs: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Interleaved: the baseline and the dashboard each round, so a noisy moment weighs on both.
    const baselineMs = await timeToRows(baseline.url, []);
    const measured = await timeToRows(`${base}/#/`, [{ name: 'pier_session', value: secret, url: base }]);
    rows.push({ js: measured.js, dashboardMs: measured.ms, baselineMs: baselineMs.ms });
    process.stdout.write(
      `round ${round}: JavaScript ${kb(measured.js)} transferred (${measured.encodings}); apps page ${measured.ms.toFixed(0)} ms, static table ${baselineMs.ms.toFixed(0)} ms\n`,
    );
  }
  const js = median(rows.map((r) => r.js));
  const dash = median(rows.map((r) => r.dashboardMs));
  const base0 = median(rows.map((r) => r.baselineMs));
  process.stdout.write(
    [
      '',
      `apps page, ${APPS} apps (${APPS * 2} environments), medians of ${ROUNDS} rounds:`,
      `  JavaScript transferred on first load: ${kb(js)} (budget ${kb(JS_BUDGET)}: ${((js / JS_BUDGET) * 100).toFixed(0)} % of it)`,
      `  navigation to ${APPS} apps rendered: ${dash.toFixed(0)} ms (budget ${RENDER_BUDGET_MS} ms)`,
      `  static HTML table of the same rows (baseline): ${base0.toFixed(0)} ms; the dashboard takes ${(dash / base0).toFixed(2)}x the baseline`,
      '',
    ].join('\n'),
  );
} finally {
  await baseline.close();
  await api.close();
  await teardown();
  rmSync(dashboardDir, { recursive: true, force: true });
}

/** Opens `url` in a fresh headless Chromium; the time until 200 rows exist, and the JavaScript bytes received. */
async function timeToRows(url: string, cookies: { name: string; value: string; url: string }[]) {
  const profile = mkdtempSync(join(tmpdir(), 'pier-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    if (cookies.length > 0) await context.addCookies(cookies);
    context.setDefaultTimeout(30_000);
    // Loopback only: anything else the page asked for would be refused and reported.
    await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]).*/, (route) => {
      process.stderr.write(`refused a request off loopback: ${route.request().url()}\n`);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const scripts: Promise<{ bytes: number; encoding: string }>[] = [];
    page.on('requestfinished', (request) => {
      if (request.resourceType() !== 'script') return;
      scripts.push(
        Promise.all([request.sizes(), request.response()]).then(([sizes, response]) => ({
          bytes: sizes.responseBodySize,
          encoding: response?.headers()['content-encoding'] ?? 'identity',
        })),
      );
    });
    await page.goto(url);
    // The predicate itself returns the time, so no round trip to the browser is counted. (A function, not a
    // string: the page's Content-Security-Policy refuses eval.)
    const done = await page.waitForFunction(
      (rows) => document.querySelectorAll('tr[data-app]').length >= rows && performance.now(),
      APPS * 2,
      { polling: 'raf' },
    );
    const ms = (await done.jsonValue()) as number;
    const sent = await Promise.all(scripts);
    const js = sent.reduce((sum, s) => sum + s.bytes, 0);
    const encodings = [...new Set(sent.map((s) => s.encoding))].join(', ');
    return { ms, js, encodings };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The baseline: a bare Node server on loopback answering one static page with the same table. */
async function staticTable(): Promise<{ url: string; close: () => Promise<void> }> {
  const rowsHtml = Array.from({ length: APPS }, (_, i) =>
    ['production', 'staging']
      .map(
        (env) =>
          `<tr data-app="bench-${i}"><th>bench-${i}</th><td>${env}</td><td>new</td><td>none</td><td>never</td><td>https://bench-${i}.example</td></tr>`,
      )
      .join(''),
  ).join('');
  const html = `<!doctype html><meta charset="utf-8"><title>baseline</title><table><tbody>${rowsHtml}</tbody></table>`;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
