import { randomBytes } from 'node:crypto';
import { type CertificateIssuer, SecretBox } from '@pier/core';
import { CertificateOwners, CertificateStore, createStores, PostgresChallengeResponses, type Stores } from '@pier/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateRenewer } from '../../apps/worker/src/certificates/certificate-renewer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { quietLogger } from '../support/quiet-logger.ts';

/**
 * Certificate events from the worker's certificate loop against a real
 * Postgres, with an issuer that answers as the test says: a served
 * certificate within 7 days of its end is reported expiring once, its
 * renewal failing once however often it is retried, and renewed once a new
 * one is issued, each in the log of the app whose custom domain it is.
 */

let database: TestDatabase;
let stores: Stores;
let certificates: CertificateStore;
const HOST = 'shop.example.com';
const DAY = 24 * 3600_000;
const quiet = quietLogger();

beforeAll(async () => {
  database = await createTestDatabase();
  const box = new SecretBox(randomBytes(32));
  stores = createStores(database.db, box);
  certificates = new CertificateStore(database.db, box);
  await stores.apps.create({ name: 'shop', webhookSecret: 'x'.repeat(40) });
  await database.sql`insert into domains (environment_id, hostname)
    select e.id, ${HOST} from environments e join apps a on a.id = e.app_id where a.name = 'shop' and e.name = 'production'`;
});
afterAll(async () => database?.destroy());

/** An issuer that hands out a certificate ending `days` from now (its PEM is not parsed here), or fails. */
function issuer(answer: number | Error): CertificateIssuer {
  return {
    issue: async () => {
      if (answer instanceof Error) throw answer;
      const now = Date.now();
      return {
        certificatePem: 'CERT',
        privateKeyPem: 'KEY',
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + answer * DAY),
      };
    },
  };
}

function renewer(answer: number | Error): CertificateRenewer {
  return new CertificateRenewer({
    certificates,
    challenges: new PostgresChallengeResponses(database.db),
    issuer: issuer(answer),
    wanted: async () => [HOST],
    logger: quiet,
    intervalMs: 60_000,
    leaseMs: 5_000,
    retryMs: 60_000,
    events: { recorder: stores.events, owners: new CertificateOwners(database.db, 'pier.test') },
  });
}

async function kinds(): Promise<string[]> {
  return (await stores.events.list({ limit: 50 })).events.reverse().map((e) => e.kind);
}

/** Makes the certificate due for renewal now. */
async function due(): Promise<void> {
  await database.sql`update certificates set next_attempt_at = now() - interval '1 second' where hostname = ${HOST}`;
}

describe('certificate events', () => {
  it('expiring once, renewal failing once, renewed once, in the app of the domain', async () => {
    await renewer(3).runOnce();
    expect(await kinds()).toEqual([]); // a first certificate is not a renewal
    await renewer(3).runOnce();
    await renewer(3).runOnce();
    expect(await kinds()).toEqual(['certificate.expiring']);

    await due();
    await renewer(new Error('the CA refused: rateLimited')).runOnce();
    await due();
    await renewer(new Error('the CA refused: rateLimited')).runOnce();
    expect(await kinds()).toEqual(['certificate.expiring', 'certificate.renewal_failing']);

    await due();
    await renewer(90).runOnce();
    await renewer(90).runOnce();
    expect(await kinds()).toEqual(['certificate.expiring', 'certificate.renewal_failing', 'certificate.renewed']);

    const events = (await stores.events.list({ limit: 50 })).events.reverse();
    expect(events.every((e) => e.envName === 'production' && e.appId !== null)).toBe(true);
    expect(events[0]?.message).toMatch(/^shop production: the certificate of shop\.example\.com expires within 72 h, at /);
    expect(events[1]?.message).toMatch(
      /^shop production: renewing the certificate of shop\.example\.com \(valid until .*\) failed: the CA refused: rateLimited$/,
    );
    expect(events[2]?.message).toMatch(/^shop production: the certificate of shop\.example\.com was renewed; it is valid until /);
  });
});
