import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { SecretBox } from '@pier/core';
import { CertificateStore, grantProxyRole, holdsMoreThanProxyNeeds } from '@pier/db';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFallbackCertificate } from '../../apps/proxy/src/tls-fallback.ts';
import {
  deployRoute,
  httpGet,
  PROXY_KEY,
  type ProxyProcess,
  presentedCertificate,
  startProxy,
  startUpstream,
  until,
} from '../https/harness.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { freePort } from '../support/processes.ts';

/**
 * The internet-facing proxy holds neither PIER_SECRET_KEY nor the database
 * owner's role: it serves routes and certificates (keys sealed under its own
 * PIER_PROXY_KEY) as a role `npm run migrate` grants only the columns it
 * reads, and that role cannot read variables, secrets or tokens.
 */

const PROXY_ROLE = process.env.PIER_TEST_PROXY_ROLE ?? 'pier_test_proxy';
const HOST = 'shop.pier.test';
let api: TestApi;
let proxy: ProxyProcess;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let asProxy: postgres.Sql;
let proxyUrl: string;
let environmentId: string;

beforeAll(async () => {
  api = await createTestApi();
  await grantProxyRole(api.database.sql, PROXY_ROLE);
  const url = new URL(api.database.url);
  url.username = PROXY_ROLE;
  url.password = PROXY_ROLE;
  proxyUrl = url.toString();
  asProxy = postgres(proxyUrl, { max: 1, onnotice: () => {} });
  upstream = await startUpstream();
  environmentId = await deployRoute(api.database, api.box, 'shop', 'production', upstream.port);
  await api.request({
    method: 'PATCH',
    url: '/apps/shop/environments/production/variables',
    payload: { set: { CANARY: 'never-for-the-proxy' } },
  });
  // An issued certificate, its key sealed under the proxy's key as the worker seals it.
  const { cert, key } = await createFallbackCertificate(HOST);
  const certificates = new CertificateStore(api.database.db, new SecretBox(PROXY_KEY));
  await certificates.track([HOST]);
  await certificates.recordIssued(
    HOST,
    {
      certificatePem: cert,
      privateKeyPem: key,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
    },
    new Date(Date.now() + 3_600_000),
  );
  proxy = await startProxy(proxyUrl, await freePort(), undefined, {
    // Handed anyway, as a careless supervisor would: dropped, and reported.
    PIER_SECRET_KEY: randomBytes(32).toString('base64'),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await asProxy?.end();
  await upstream?.close();
  await api?.close();
});

/** The body of an HTTPS GET for HOST through the proxy (its test certificate is self-signed: not verified here). */
function httpsBody(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, servername: HOST, headers: { host: HOST }, rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe("the proxy's database role", () => {
  it('serves routes and certificates, and records the health it sees', async () => {
    // With its certificate loaded, the proxy answers plain HTTP for the hostname with a redirect to HTTPS.
    const res = await until('the proxy routes the app', async () => {
      const answer = await httpGet(proxy.httpPort, HOST, '/hello');
      return answer.status === 308 ? answer : undefined;
    });
    expect(res.headers.location).toBe(`https://${HOST}:${proxy.httpsPort}/hello`);
    const presented = await until('the proxy serves the certificate', async () => {
      const peer = await presentedCertificate(proxy.httpsPort, HOST);
      return peer.subject.CN === HOST ? peer : undefined;
    });
    expect(presented.subject.CN).toBe(HOST);
    expect(await httpsBody(proxy.httpsPort, '/hello')).toBe('hello https /hello');
    await until('the proxy records the replica healthy', async () => {
      const [row] = await api.database.sql`select healthy from replicas where environment_id = ${environmentId}`;
      return row?.healthy === true;
    });
    const logs = proxy.proc.output();
    expect(logs).not.toContain('can read every table');
    expect(logs).toContain('the proxy was given secrets it never needs');
  });

  it('cannot read variables, secrets or tokens, nor change what it only reads', async () => {
    for (const query of [
      asProxy`select * from variables`,
      asProxy`select webhook_secret_ciphertext from apps`,
      asProxy`select repo_credentials_ciphertext from apps`,
      asProxy`select * from api_tokens`,
      asProxy`select credentials_ciphertext from managed_services`,
      asProxy`select key_ciphertext from acme_accounts`,
      // It reads a live release's health check, never the variables sealed beside it.
      asProxy`select config_ciphertext from releases`,
      asProxy`update apps set name = 'taken'`,
      asProxy`delete from domains`,
      asProxy`insert into acme_challenges (token, hostname, key_authorization, expires_at) values ('t', 'h', 'k', now())`,
    ]) {
      await expect(query).rejects.toMatchObject({ code: '42501' });
    }
    expect(await holdsMoreThanProxyNeeds(asProxy)).toBe(false);
    expect(await holdsMoreThanProxyNeeds(api.database.sql)).toBe(true);
  });

  it('serves a key sealed under PIER_SECRET_KEY (before the proxy had a key) once the worker re-seals it', async () => {
    const OLD = 'old.pier.test';
    const { cert, key } = await createFallbackCertificate(OLD);
    const before = new CertificateStore(api.database.db, api.box);
    await before.track([HOST, OLD]);
    await before.recordIssued(
      OLD,
      {
        certificatePem: cert,
        privateKeyPem: key,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 86_400_000),
      },
      new Date(Date.now() + 3_600_000),
    );
    expect((await presentedCertificate(proxy.httpsPort, OLD)).subject.CN).not.toBe(OLD);
    const resealed = await new CertificateStore(api.database.db, new SecretBox(PROXY_KEY)).resealKeys(api.box);
    expect(resealed).toEqual({ resealed: 1, unreadable: [] });
    await until('the proxy serves the re-sealed certificate', async () => {
      return (await presentedCertificate(proxy.httpsPort, OLD)).subject.CN === OLD;
    });
  });
});
