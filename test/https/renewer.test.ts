import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { AuthorizationFailedError, type CertificateIssuer, SecretBox } from '@pier/core';
import { CertificateStore, PostgresChallengeResponses } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateRenewer } from '../../apps/worker/src/certificates/certificate-renewer.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** The certificate loop's bookkeeping with issuers that fail on purpose (the real CA is in the other files). */

let database: TestDatabase;
let certificates: CertificateStore;
const box = new SecretBox(randomBytes(32));
const quiet = createLogger({
  name: 'worker',
  level: 'silent',
  format: 'json',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

beforeAll(async () => {
  database = await createTestDatabase();
  certificates = new CertificateStore(database.db, box);
});
afterAll(async () => database?.destroy());

function renewer(
  hostnames: string[],
  issuer: CertificateIssuer,
  extra: Partial<ConstructorParameters<typeof CertificateRenewer>[0]> = {},
) {
  return new CertificateRenewer({
    certificates,
    challenges: new PostgresChallengeResponses(database.db),
    issuer,
    wanted: async () => hostnames,
    logger: quiet,
    intervalMs: 60_000,
    leaseMs: 5_000,
    retryMs: 60_000,
    ...extra,
  });
}

describe('CertificateRenewer', () => {
  it('gives up an order that hangs, keeps its URL for later, and releases the hostname', async () => {
    const hung: CertificateIssuer = {
      issue: async (_hostname, journal) => {
        await journal.orderPlaced('https://ca.example/order/1');
        return new Promise(() => {});
      },
    };
    await renewer(['hung.example'], hung, { orderTimeoutMs: 300 }).runOnce();
    const row = await certificates.get('hung.example');
    expect(row).toMatchObject({ state: 'failed', orderUrl: 'https://ca.example/order/1', lockedUntil: null, failureTimes: [] });
    expect(row?.lastError).toMatch(/did not finish in time/);
    expect((row?.nextAttemptAt?.getTime() ?? 0) - Date.now()).toBeGreaterThan(50_000);
  });

  it('passes the recorded order to the next attempt, which resumes it', async () => {
    await database.sql`update certificates set next_attempt_at = now() where hostname = 'hung.example'`;
    const seen: (string | null)[] = [];
    const failing: CertificateIssuer = {
      issue: async (hostname, journal) => {
        seen.push(journal.pendingOrderUrl);
        throw new AuthorizationFailedError(hostname, 'connection refused');
      },
    };
    await renewer(['hung.example'], failing).runOnce();
    expect(seen).toEqual(['https://ca.example/order/1']);
    const row = await certificates.get('hung.example');
    // A failed authorization kills the order: the next attempt places a new one.
    expect(row).toMatchObject({ orderUrl: null, lockedUntil: null });
    expect(row?.failureTimes).toHaveLength(1);
  });

  it('a hostname held by another worker is left alone until its lease ends', async () => {
    let calls = 0;
    const counting: CertificateIssuer = {
      issue: async (hostname) => {
        calls += 1;
        throw new Error(`${hostname}: CA unreachable`);
      },
    };
    await certificates.track(['held.example']);
    const [held] = await certificates.claimDue(60_000, 10);
    expect(held?.hostname).toBe('held.example');
    await renewer(['held.example'], counting).runOnce();
    expect(calls).toBe(0);
    await database.sql`update certificates set locked_until = now() - interval '1 second' where hostname = 'held.example'`;
    await renewer(['held.example'], counting).runOnce();
    expect(calls).toBe(1);
  });

  it('waits twice as long after each failure in a row that is not an authorization (the CA is down)', async () => {
    const down: CertificateIssuer = { issue: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      await database.sql`update certificates set next_attempt_at = now() where hostname = 'down.example'`;
      await renewer(['down.example'], down).runOnce();
      const row = await certificates.get('down.example');
      waits.push((row?.nextAttemptAt?.getTime() ?? 0) - (row?.updatedAt.getTime() ?? 0));
      // The next attempt starts when its wait is over (as if that much time had passed).
      await database.sql`update certificates set updated_at = updated_at - (next_attempt_at - updated_at) where hostname = 'down.example'`;
    }
    expect(waits.map((ms) => Math.round(ms / 1000))).toEqual([60, 120, 240]);
    expect((await certificates.get('down.example'))?.failureTimes).toEqual([]);
  });

  it('logs a failed order with its error and stack, keeping the hostname in the context', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      name: 'worker',
      level: 'info',
      format: 'json',
      destination: new Writable({
        write: (chunk, _e, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const down: CertificateIssuer = { issue: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:14000')) };
    await renewer(['logged.example'], down, { logger }).runOnce();
    const failed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'certificate order failed; it resumes later');
    expect(failed).toMatchObject({ hostname: 'logged.example', err: { message: 'connect ECONNREFUSED 127.0.0.1:14000' } });
    expect(failed.err.stack).toMatch(/^Error: connect ECONNREFUSED[\s\S]*\n\s+at /);
  });

  it('removes the records of hostnames no longer wanted', async () => {
    await renewer([], { issue: async () => Promise.reject(new Error('unused')) }).runOnce();
    expect(await database.sql`select hostname from certificates`).toEqual([]);
  });
});
