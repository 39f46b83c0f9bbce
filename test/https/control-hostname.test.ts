import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { signPayload } from '@pier/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { buildDashboard, openBrowser, signIn } from '../support/browser.ts';
import { freePort } from '../support/processes.ts';
import { pushPayload } from '../support/webhooks.ts';
import { type CertificateLoop, certificateLoop, httpGet, type ProxyProcess, startProxy, until } from './harness.ts';
import { Pebble } from './pebble.ts';

/**
 * The control plane's front door: with PIER_CONTROL_HOSTNAME the real proxy
 * process routes that hostname to the api (on loopback), the worker's
 * certificate loop gets it a certificate from Pebble, and GitHub-style
 * webhook deliveries and API calls then arrive over HTTPS; plain HTTP works
 * until the certificate exists and is redirected from then on.
 */

const CONTROL = 'pier.control.example';
const REPO = 'acme-front/door';
const secretKey = randomBytes(32);
let api: TestApi;
let pebble: Pebble;
let proxy: ProxyProcess;
let loop: CertificateLoop;
let root: string;
let webhookSecret: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request to the proxy's HTTPS port for `CONTROL`, verified against Pebble's root. */
function overHttps(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return send(httpsRequest, { port: proxy.httpsPort, servername: CONTROL, ca: root }, method, path, headers, body);
}

/** A request for `CONTROL` to one of the proxy's listeners on loopback. */
function send(
  request: typeof httpRequest | typeof httpsRequest,
  target: { port: number; servername?: string; ca?: string },
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', ...target, method, path, headers: { host: CONTROL, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A signed push delivery as GitHub sends it, through `send`. */
function push(sha: string) {
  const body = Buffer.from(JSON.stringify(pushPayload(REPO, 'refs/heads/main', sha)));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signPayload(body, webhookSecret),
    },
  };
}

beforeAll(async () => {
  api = await createTestApi({ secretKey, controlHostname: CONTROL, dashboardDir: await buildDashboard() });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const apiPort = (api.app.server.address() as AddressInfo).port;
  const created = await api.request({
    method: 'POST',
    url: '/apps',
    payload: { name: 'front-door', repository: { fullName: REPO, cloneUrl: 'file:///srv/git/door.git' } },
  });
  expect(created.statusCode, created.body).toBe(201);
  webhookSecret = created.json().webhookSecret;
  const httpPort = await freePort();
  pebble = await Pebble.start({ httpPort });
  root = await pebble.issuingRoot();
  proxy = await startProxy(api.database.url, httpPort, undefined, {
    PIER_CONTROL_HOSTNAME: CONTROL,
    PIER_CONTROL_UPSTREAM: `127.0.0.1:${apiPort}`,
  });
  loop = await certificateLoop(api.database, api.box, pebble, { fixed: [CONTROL] });
});

afterAll(async () => {
  await loop?.renewer.stop();
  await proxy?.stop();
  await pebble?.stop();
  await api?.close();
});

describe('PIER_CONTROL_HOSTNAME', () => {
  it('routes the control hostname to the api over plain HTTP until a certificate exists', async () => {
    const health = await until('the proxy routes the control hostname', async () => {
      const res = await httpGet(proxy.httpPort, CONTROL, '/health');
      return res.status === 200 ? res : undefined;
    });
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    const delivery = push('1'.repeat(40));
    const res = await send(httpRequest, { port: proxy.httpPort }, 'POST', '/webhooks/github', delivery.headers, delivery.body);
    expect(res.status, res.body).toBe(202);
    expect(JSON.parse(res.body).deployments).toHaveLength(1);
  });

  it('gets a certificate from Pebble; webhooks and API calls then arrive over HTTPS, and plain HTTP is redirected', async () => {
    await loop.renewer.runOnce();
    const row = await loop.certificates.get(CONTROL);
    expect({ state: row?.state, lastError: row?.lastError }).toEqual({ state: 'issued', lastError: null });

    const delivery = push('2'.repeat(40));
    const webhook = await until('the proxy serves the control hostname over HTTPS', () =>
      overHttps('POST', '/webhooks/github', delivery.headers, delivery.body).catch(() => undefined),
    );
    expect(webhook.status, webhook.body).toBe(202);
    expect(JSON.parse(webhook.body).deployments).toHaveLength(1);
    expect(webhook.headers['strict-transport-security']).toBe('max-age=31536000');

    const apps = await overHttps('GET', '/apps', { authorization: `Bearer ${api.adminToken}` });
    expect(apps.status).toBe(200);
    expect(JSON.parse(apps.body).apps.map((a: { name: string }) => a.name)).toEqual(['front-door']);

    const plain = await until('plain HTTP is redirected', async () => {
      const res = await httpGet(proxy.httpPort, CONTROL, '/apps');
      return res.status === 308 ? res : undefined;
    });
    expect(plain.headers.location).toBe(`https://${CONTROL}:${proxy.httpsPort}/apps`);
  });

  it('serves the dashboard over HTTPS: the session cookie is Secure, HttpOnly and SameSite=Strict, and changes go through', async () => {
    // Chromium resolves the control hostname to the proxy on loopback; Pebble's root is not in its store.
    const session = await openBrowser(`https://${CONTROL}:${proxy.httpsPort}`, {
      args: [`--host-resolver-rules=MAP ${CONTROL} 127.0.0.1`],
      ignoreHTTPSErrors: true,
    });
    try {
      await signIn(session, api.adminToken);
      const [cookie] = await session.context.cookies();
      expect(cookie).toMatchObject({
        name: '__Host-pier_session',
        httpOnly: true,
        secure: true,
        sameSite: 'Strict',
        domain: CONTROL,
        path: '/',
      });
      expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000 + 3600);
      // A change through the proxy: the CSRF token and this origin (with its port) are accepted.
      await session.page.getByText('Create an app').click();
      await session.page.getByLabel('Name', { exact: true }).fill('door-two');
      await session.page.getByRole('button', { name: 'Create', exact: true }).click();
      await session.page.waitForURL(/#\/apps\/door-two$/);
      const apps = await overHttps('GET', '/apps', { authorization: `Bearer ${api.adminToken}` });
      expect(JSON.parse(apps.body).apps.map((a: { name: string }) => a.name)).toContain('door-two');
      await session.screenshot('https-control-hostname');
      expect(session.problems).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('is refused as a custom domain', async () => {
    const domain = await api.request({
      method: 'POST',
      url: '/apps/front-door/environments/production/domains',
      payload: { hostname: CONTROL },
    });
    expect(domain.statusCode).toBe(409);
    expect(domain.json().error.message).toBe(`body.hostname: ${CONTROL} is Pier's own control hostname (PIER_CONTROL_HOSTNAME)`);
  });
});

describe('a control hostname under the base domain', () => {
  it('is refused as the generated hostname of a new app or environment', async () => {
    const other = await createTestApi({ controlHostname: 'door-admin.pier.test' });
    try {
      const app = await other.request({ method: 'POST', url: '/apps', payload: { name: 'door-admin' } });
      expect(app.statusCode, app.body).toBe(409);
      expect(app.json().error.message).toBe(
        "body.name: door-admin.pier.test is Pier's own control hostname (PIER_CONTROL_HOSTNAME)",
      );
      expect((await other.request({ method: 'POST', url: '/apps', payload: { name: 'door' } })).statusCode).toBe(201);
      const env = await other.request({ method: 'POST', url: '/apps/door/environments', payload: { name: 'admin' } });
      expect(env.statusCode, env.body).toBe(409);
    } finally {
      await other.close();
    }
  });
});
