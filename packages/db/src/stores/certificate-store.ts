import { hostnamesFor, type IssuedCertificate, type SecretBox } from '@pier/core';
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import { CERTIFICATES_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { apps, certificates, domains, environments } from '../schema.ts';

export type CertificateRow = typeof certificates.$inferSelect;

/** A certificate the proxy can serve, its key opened. */
export interface ServingCertificate {
  hostname: string;
  certificatePem: string;
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** What a failed attempt leaves on the record; the certificate already there is kept. */
export interface AttemptFailure {
  error: string;
  nextAttemptAt: Date;
  /** Failed authorizations of the last hour (only when this attempt was one). */
  failureTimes?: Date[];
  /** False once the order is dead (a failed authorization): the next attempt places a new one. */
  keepOrder: boolean;
}

/** The sealed private key is bound to its hostname: copied to another row it does not open. */
const keyContext = (hostname: string) => `certificate-key:${hostname}`;

/**
 * Certificates per hostname and the state of their orders. Workers claim due
 * rows with a lease (`locked_until`) so that two never order the same
 * hostname; private keys are sealed with the SecretBox given, the proxy's
 * (PIER_PROXY_KEY): the proxy opens them without holding PIER_SECRET_KEY.
 */
export class CertificateStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /**
   * Hostnames that need a certificate: every custom domain, `fixed` ones
   * (the control plane's front door) and, when `includeGenerated`, the
   * generated hostname of every deployed environment.
   */
  async wantedHostnames(baseDomain: string, includeGenerated: boolean, fixed: readonly string[] = []): Promise<string[]> {
    const custom = await this.db.select({ hostname: domains.hostname }).from(domains);
    const names = [...fixed, ...custom.map((d) => d.hostname)];
    if (includeGenerated) {
      const deployed = await this.db
        .select({ app: apps.name, env: environments.name })
        .from(environments)
        .innerJoin(apps, eq(apps.id, environments.appId))
        .where(isNotNull(environments.liveReleaseId));
      for (const { app, env } of deployed) names.push(...hostnamesFor(app, env, baseDomain));
    }
    return [...new Set(names)].sort();
  }

  /**
   * Makes `wanted` the hostnames with a certificate record: new ones get a
   * pending row (due at once); rows no longer wanted are deleted unless a
   * worker holds them. Returns the hostnames removed.
   */
  async track(wanted: readonly string[]): Promise<string[]> {
    if (wanted.length > 0) {
      await this.db
        .insert(certificates)
        .values(wanted.map((hostname) => ({ hostname })))
        .onConflictDoNothing();
    }
    return this.db.transaction(async (tx) => {
      const removed = await tx
        .delete(certificates)
        .where(
          and(
            wanted.length > 0 ? notInArray(certificates.hostname, [...wanted]) : undefined,
            or(isNull(certificates.lockedUntil), lt(certificates.lockedUntil, sql`now()`)),
          ),
        )
        .returning({ hostname: certificates.hostname });
      if (removed.length > 0) await notify(tx, 'removed');
      return removed.map((r) => r.hostname);
    });
  }

  /**
   * Takes up to `limit` rows whose next attempt is due and that nobody
   * holds, and holds them for `leaseMs` (Postgres' clock). Concurrent callers
   * never get the same row.
   */
  async claimDue(leaseMs: number, limit: number): Promise<CertificateRow[]> {
    const due = this.db
      .select({ hostname: certificates.hostname })
      .from(certificates)
      .where(
        and(
          or(isNull(certificates.nextAttemptAt), lte(certificates.nextAttemptAt, sql`now()`)),
          or(isNull(certificates.lockedUntil), lt(certificates.lockedUntil, sql`now()`)),
        ),
      )
      .orderBy(sql`${certificates.nextAttemptAt} asc nulls first`)
      .limit(limit)
      .for('update', { skipLocked: true });
    // updated_at stays the time of the last result: the wait before this attempt is next_attempt_at - updated_at.
    return this.db
      .update(certificates)
      .set({ lockedUntil: leaseEnd(leaseMs) })
      .where(inArray(certificates.hostname, due))
      .returning();
  }

  /** Keeps holding a row while its order runs. */
  async extendLease(hostname: string, leaseMs: number): Promise<void> {
    await this.db
      .update(certificates)
      .set({ lockedUntil: leaseEnd(leaseMs) })
      .where(eq(certificates.hostname, hostname));
  }

  /** The order placed for `hostname`, resumed after a crash instead of placing another. */
  async recordOrder(hostname: string, orderUrl: string): Promise<void> {
    await this.db.update(certificates).set({ orderUrl }).where(eq(certificates.hostname, hostname));
  }

  /** Stores a new certificate (key sealed), schedules its renewal, releases the row and tells the proxy. */
  async recordIssued(hostname: string, issued: IssuedCertificate, renewAt: Date): Promise<void> {
    const sealed = this.box.seal(issued.privateKeyPem, keyContext(hostname));
    await this.db.transaction(async (tx) => {
      await tx
        .update(certificates)
        .set({
          state: 'issued',
          certificatePem: issued.certificatePem,
          privateKeyCiphertext: sealed.ciphertext,
          keyId: sealed.keyId,
          notBefore: issued.notBefore,
          notAfter: issued.notAfter,
          lastError: null,
          orderUrl: null,
          nextAttemptAt: renewAt,
          failureTimes: [],
          lockedUntil: null,
          updatedAt: new Date(),
        })
        .where(eq(certificates.hostname, hostname));
      await notify(tx, hostname);
    });
  }

  /** Records a failed attempt and releases the row; a certificate already issued stays and is served. */
  async recordFailure(hostname: string, failure: AttemptFailure): Promise<void> {
    await this.db
      .update(certificates)
      .set({
        state: sql`case when ${certificates.certificatePem} is null then 'failed'::certificate_state else 'issued'::certificate_state end`,
        lastError: failure.error.slice(0, 2000),
        nextAttemptAt: failure.nextAttemptAt,
        ...(failure.failureTimes ? { failureTimes: failure.failureTimes } : {}),
        ...(failure.keepOrder ? {} : { orderUrl: null }),
        lockedUntil: null,
        updatedAt: new Date(),
      })
      .where(eq(certificates.hostname, hostname));
  }

  async get(hostname: string): Promise<CertificateRow | undefined> {
    const [row] = await this.db.select().from(certificates).where(eq(certificates.hostname, hostname));
    return row;
  }

  /**
   * Re-seals under the current key every private key sealed otherwise: under
   * `older` (PIER_SECRET_KEY, before the proxy had a key of its own) or a
   * previous proxy key. A row changed meanwhile is left for the next run; a
   * key no configured key opens is reported. Run by the worker at start.
   */
  async resealKeys(older: SecretBox): Promise<{ resealed: number; unreadable: string[] }> {
    const rows = await this.db
      .select({ hostname: certificates.hostname, ciphertext: certificates.privateKeyCiphertext, keyId: certificates.keyId })
      .from(certificates)
      .where(
        and(isNotNull(certificates.privateKeyCiphertext), sql`${certificates.keyId} is distinct from ${this.box.currentKeyId}`),
      );
    let resealed = 0;
    const unreadable: string[] = [];
    for (const row of rows) {
      const secret = { keyId: row.keyId as string, ciphertext: row.ciphertext as string };
      let plain: string;
      try {
        plain = this.#openWithEither(secret, older, keyContext(row.hostname));
      } catch {
        unreadable.push(row.hostname);
        continue;
      }
      const sealed = this.box.seal(plain, keyContext(row.hostname));
      const updated = await this.db
        .update(certificates)
        .set({ privateKeyCiphertext: sealed.ciphertext, keyId: sealed.keyId })
        .where(and(eq(certificates.hostname, row.hostname), eq(certificates.privateKeyCiphertext, secret.ciphertext)))
        .returning({ hostname: certificates.hostname });
      if (updated.length > 0) {
        resealed += 1;
        await notify(this.db, row.hostname);
      }
    }
    return { resealed, unreadable };
  }

  #openWithEither(secret: { keyId: string; ciphertext: string }, older: SecretBox, context: string): string {
    try {
      return this.box.open(secret, context);
    } catch {
      return older.open(secret, context);
    }
  }

  /** Records of these hostnames, for status listings (no key material). */
  async statuses(hostnames: readonly string[]): Promise<Map<string, CertificateStatus>> {
    if (hostnames.length === 0) return new Map();
    const rows = await this.db
      .select({
        hostname: certificates.hostname,
        state: certificates.state,
        notBefore: certificates.notBefore,
        notAfter: certificates.notAfter,
        lastError: certificates.lastError,
        nextAttemptAt: certificates.nextAttemptAt,
      })
      .from(certificates)
      .where(inArray(certificates.hostname, [...hostnames]));
    return new Map(rows.map((r) => [r.hostname, r]));
  }

  /**
   * Every certificate that can be served, keys opened. A key that does not
   * open (a secret key no longer configured) is reported, not thrown.
   */
  async serving(): Promise<{ certificates: ServingCertificate[]; unreadable: string[] }> {
    // Only the columns the proxy's database role may read (PROXY_ROLE_PRIVILEGES).
    const rows = await this.db
      .select({
        hostname: certificates.hostname,
        certificatePem: certificates.certificatePem,
        privateKeyCiphertext: certificates.privateKeyCiphertext,
        keyId: certificates.keyId,
        notBefore: certificates.notBefore,
        notAfter: certificates.notAfter,
      })
      .from(certificates)
      .where(and(isNotNull(certificates.certificatePem), isNotNull(certificates.privateKeyCiphertext)))
      .orderBy(asc(certificates.hostname));
    const serving: ServingCertificate[] = [];
    const unreadable: string[] = [];
    for (const row of rows) {
      try {
        const privateKeyPem = this.box.open(
          { keyId: row.keyId as string, ciphertext: row.privateKeyCiphertext as string },
          keyContext(row.hostname),
        );
        serving.push({
          hostname: row.hostname,
          certificatePem: row.certificatePem as string,
          privateKeyPem,
          notBefore: row.notBefore ?? new Date(0),
          notAfter: row.notAfter ?? new Date(0),
        });
      } catch {
        unreadable.push(row.hostname);
      }
    }
    return { certificates: serving, unreadable };
  }
}

export type CertificateStatus = Pick<
  CertificateRow,
  'hostname' | 'state' | 'notBefore' | 'notAfter' | 'lastError' | 'nextAttemptAt'
>;

function leaseEnd(leaseMs: number) {
  return sql`now() + ${Math.round(leaseMs)} * interval '1 millisecond'`;
}

async function notify(tx: Pick<Db, 'execute'>, payload: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${CERTIFICATES_CHANNEL}, ${payload})`);
}
