import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';
import { freePort } from '../support/processes.ts';
import {
  type CertificateLoop,
  certificateLoop,
  deployRoute,
  httpGet,
  httpsGet,
  type ProxyProcess,
  presentedCertificate,
  startProxy,
  startUpstream,
  until,
} from './harness.ts';
import { Pebble } from './pebble.ts';

/**
 * Issue 6, end to end against Pebble: a custom domain added through the API
 * gets a certificate through the real proxy process answering the HTTP-01
 * challenge, and HTTPS then verifies against Pebble's root and reaches the
 * app; plain HTTP is redirected only from then on.
 */

const CUSTOM = 'www.shop.example';
const GENERATED = 'shop.pier.test';
const secretKey = randomBytes(32);
let api: TestApi;
let pebble: Pebble;
let proxy: ProxyProcess;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let loop: CertificateLoop;
let root: string;

beforeAll(async () => {
  api = await createTestApi({ secretKey });
  upstream = await startUpstream();
  const httpPort = await freePort();
  pebble = await Pebble.start({ httpPort });
  root = await pebble.issuingRoot();
  proxy = await startProxy(api.database.url, httpPort);
  await deployRoute(api.database, api.box, 'shop', 'production', upstream.port);
  loop = await certificateLoop(api.database, api.box, pebble, { includeGenerated: true });
});

afterAll(async () => {
  await loop?.renewer.stop();
  await proxy?.stop();
  await pebble?.stop();
  await upstream?.close();
  await api?.close();
});

describe('certificates from Pebble, served by the proxy', () => {
  it('serves plain HTTP and a self-signed fallback until a certificate exists', async () => {
    const res = await api.request({
      method: 'POST',
      url: '/apps/shop/environments/production/domains',
      payload: { hostname: CUSTOM },
    });
    expect(res.statusCode).toBe(201);
    await until('the proxy routes the new domain', async () => (await httpGet(proxy.httpPort, CUSTOM, '/')).status === 200);
    expect((await httpGet(proxy.httpPort, CUSTOM, '/x')).body).toBe('hello http /x');
    const fallback = await presentedCertificate(proxy.httpsPort, CUSTOM);
    expect(fallback.subject.CN).toBe('pier-no-certificate-yet');
    await expect(httpsGet(proxy.httpsPort, CUSTOM, '/', root)).rejects.toThrow();
  });

  it('refuses challenge paths with .. or characters outside base64url, before any lookup', async () => {
    for (const path of [
      '/.well-known/acme-challenge/../../etc/passwd',
      '/.well-known/acme-challenge/..',
      '/.well-known/acme-challenge/%2e%2e%2fsecret-token-value',
      '/.well-known/acme-challenge/abc.def.ghi.jkl.mno',
      '/.well-known/acme-challenge/token;with;semicolons',
      '/.well-known/acme-challenge/',
    ]) {
      expect({ path, status: (await httpGet(proxy.httpPort, CUSTOM, path)).status }).toEqual({ path, status: 400 });
    }
    const unknown = await httpGet(proxy.httpPort, CUSTOM, `/.well-known/acme-challenge/${'A'.repeat(43)}`);
    expect(unknown.status).toBe(404);
  });

  it('orders certificates for the custom domain and the generated hostname; HTTPS verifies against Pebble and reaches the app', async () => {
    await loop.renewer.runOnce();
    for (const hostname of [CUSTOM, GENERATED]) {
      const row = await loop.certificates.get(hostname);
      expect({ hostname, state: row?.state, lastError: row?.lastError }).toEqual({ hostname, state: 'issued', lastError: null });
      expect(row?.privateKeyCiphertext).not.toContain('PRIVATE KEY');
      expect(row?.orderUrl).toBeNull();
      const { notBefore, notAfter, nextAttemptAt } = row as { notBefore: Date; notAfter: Date; nextAttemptAt: Date };
      const lifetime = notAfter.getTime() - notBefore.getTime();
      const renewIn = nextAttemptAt.getTime() - notBefore.getTime();
      expect(renewIn / lifetime).toBeGreaterThan(0.6);
      expect(renewIn / lifetime).toBeLessThan(0.71);
    }
    expect(await pebble.settledOrders()).toBe(2);
    const account = await api.database.sql`select key_ciphertext, account_url from acme_accounts`;
    expect(account).toHaveLength(1);
    expect(account[0]?.key_ciphertext).not.toContain('PRIVATE KEY');
    expect(loop.logs.join('')).not.toContain('PRIVATE KEY');

    const answer = await until('the proxy serves the issued certificate', () =>
      httpsGet(proxy.httpsPort, CUSTOM, '/paid', root).catch(() => undefined),
    );
    expect(answer).toMatchObject({ status: 200, body: 'hello https /paid' });
    expect(answer.peer.subjectaltname).toContain(`DNS:${CUSTOM}`);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(answer.protocol);
    expect((await httpsGet(proxy.httpsPort, GENERATED, '/', root)).body).toBe('hello https /');
    expect(answer.headers['strict-transport-security']).toBeUndefined();
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/pier_proxy_certificate_expiry_timestamp_seconds\{hostname="www\.shop\.example"\} \d+/);
  });

  it('redirects plain HTTP once the hostname has a certificate, but still answers challenges on HTTP', async () => {
    const res = await httpGet(proxy.httpPort, CUSTOM, '/cart?item=1');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://${CUSTOM}:${proxy.httpsPort}/cart?item=1`);
    await api.database.sql`insert into acme_challenges (token, hostname, key_authorization, expires_at)
      values (${'T'.repeat(43)}, ${CUSTOM}, 'T.thumbprint', now() + interval '1 minute')`;
    const challenge = await httpGet(proxy.httpPort, CUSTOM, `/.well-known/acme-challenge/${'T'.repeat(43)}`);
    expect({ status: challenge.status, body: challenge.body }).toEqual({ status: 200, body: 'T.thumbprint' });
    const otherHost = await httpGet(proxy.httpPort, GENERATED, `/.well-known/acme-challenge/${'T'.repeat(43)}`);
    expect(otherHost.status).toBe(404);
  });

  it('turns the redirect off and HSTS on per environment', async () => {
    const url = '/apps/shop/environments/production/https';
    expect((await api.request({ method: 'PATCH', url, payload: { redirect: false, hsts: true } })).statusCode).toBe(200);
    await until('the proxy stops redirecting', async () => (await httpGet(proxy.httpPort, CUSTOM, '/')).status === 200);
    const secure = await httpsGet(proxy.httpsPort, CUSTOM, '/', root);
    expect(secure.headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await httpGet(proxy.httpPort, CUSTOM, '/')).headers['strict-transport-security']).toBeUndefined();
  });

  it('lists the certificate state and expiry with the domain', async () => {
    const res = await api.request({ method: 'GET', url: '/apps/shop/environments/production/domains' });
    expect(res.json().domains).toEqual([
      expect.objectContaining({ hostname: CUSTOM, certificate: expect.objectContaining({ state: 'issued', valid: true }) }),
    ]);
  });

  it('a proxy restarted while Postgres is down serves HTTPS from its snapshots, keys still sealed on disk', async () => {
    const { httpPort, snapshotDir } = proxy;
    await proxy.stop({ keepSnapshots: true });
    const files = await readdir(snapshotDir);
    const certificates = await readFile(join(snapshotDir, files.find((f) => f.endsWith('.certificates.json')) ?? 'none'), 'utf8');
    expect(certificates).toContain(CUSTOM);
    expect(certificates).not.toContain('PRIVATE KEY');
    proxy = await startProxy('postgres://nobody:nothing@127.0.0.1:1/none', httpPort, snapshotDir);
    const answer = await httpsGet(proxy.httpsPort, CUSTOM, '/offline', root);
    expect(answer).toMatchObject({ status: 200, body: 'hello https /offline' });
  });
});
