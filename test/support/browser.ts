import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { exitWithin, REPO_ROOT, scriptCommand, spawnCollecting } from './processes.ts';

/** Where screenshots go: test-artifacts/dashboard/ at the top of the repository (ignored by git). */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts', 'dashboard');

let built: Promise<string> | undefined;

/** The dashboard built once per test process into a temp folder (PIER_DASHBOARD_DIR for the api under test). */
export function buildDashboard(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-dashboard-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const build = spawnCollecting([...scriptCommand('scripts/build-dashboard.ts'), dir], { cwd: REPO_ROOT, env: {} });
    const code = await exitWithin(build, 120_000);
    if (code !== 0) throw new Error(`the dashboard did not build (${code}):\n${build.output()}`);
    return dir;
  })();
  return built;
}

export interface BrowserSession {
  page: Page;
  context: BrowserContext;
  /** The base URL every `goto` is relative to (the api). */
  baseUrl: string;
  /**
   * Console errors, page errors, failed requests and error responses seen so
   * far that no `expectError` allowed. A test asserts it stays empty.
   */
  problems: string[];
  /** Allows the next error responses with `status` whose URL contains `urlPart` (an error the test provokes on purpose). */
  expectError(status: number, urlPart: string): void;
  /** A full-page screenshot at test-artifacts/dashboard/<name>.png. */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Chromium drops the requests in flight when the host's network changes, which
 * it does each time Docker adds a bridge for a deploy on this same machine: not
 * a fault of the page (which loads them again, `useResource`), so not a problem.
 */
const NETWORK_CHANGED = 'ERR_NETWORK_CHANGED';

/** The Chromium flags this machine needs (no sandbox as root, no GPU, no calls home). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Debian's Chromium, headless, with a fresh profile, watching for every
 * console error, page error, failed request and unexpected error response.
 * Streams the page closes itself (EventSource on navigation) and requests
 * dropped on a network change (NETWORK_CHANGED) are not failures.
 */
export async function openBrowser(
  baseUrl: string,
  options: { width?: number; height?: number; args?: string[]; ignoreHTTPSErrors?: boolean } = {},
): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'pier-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    baseURL: baseUrl,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const allowed: { status: number; urlPart: string }[] = [];
  const isAllowed = (status: number, url: string) => {
    const i = allowed.findIndex((a) => a.status === status && url.includes(a.urlPart));
    if (i < 0) return false;
    allowed.splice(i, 1);
    return true;
  };
  // Chromium logs every error response as a console error too; those are judged by the response handler.
  const responseErrors: number[] = [];
  page.on('response', (res) => {
    if (res.status() < 400) return;
    responseErrors.push(res.status());
    if (!isAllowed(res.status(), res.url())) problems.push(`response ${res.status()} ${res.request().method()} ${res.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (message.text().includes(NETWORK_CHANGED)) return;
    const status = /the server responded with a status of (\d+)/.exec(message.text());
    if (status && responseErrors.includes(Number(status[1]))) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const failure = req.failure()?.errorText ?? '';
    const stream = /\/changes|follow=/.test(req.url()) || req.resourceType() === 'eventsource';
    if (failure.includes('ERR_ABORTED') && stream) return;
    if (failure.includes(NETWORK_CHANGED)) return;
    problems.push(`request failed: ${req.method()} ${req.url()} ${failure}`);
  });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return {
    page,
    context,
    baseUrl,
    problems,
    expectError: (status, urlPart) => allowed.push({ status, urlPart }),
    screenshot: async (name) => {
      await page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in with `token` on the sign-in page and waits for the apps page. */
export async function signIn(session: BrowserSession, token: string): Promise<void> {
  const { page } = session;
  await page.goto('/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Apps', level: 1 }).waitFor();
}

/**
 * Signs out with the header's button: waits for the server's answer to the
 * DELETE (the session is revoked by then) and for the sign-in page. Another
 * load answered 401 meanwhile may show the sign-in page first; a navigation
 * then would abort the DELETE, so the answer is what is waited for.
 */
export async function signOut(session: BrowserSession): Promise<void> {
  const { page } = session;
  const answered = page.waitForResponse(
    (res) => res.request().method() === 'DELETE' && new URL(res.url()).pathname === '/session',
  );
  await page.getByRole('button', { name: 'Sign out' }).click();
  const res = await answered;
  if (res.status() !== 204) throw new Error(`sign-out answered ${res.status()}`);
  await page.getByLabel('API token').waitFor();
}
