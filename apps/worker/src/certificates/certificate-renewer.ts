import {
  AuthorizationFailedError,
  afterFailedAuthorization,
  CERTIFICATE_EXPIRING_MS,
  type CertificateIssuer,
  certificateExpiringEvent,
  certificateRenewalFailingEvent,
  certificateRenewedEvent,
  delayAfterOtherFailure,
  type EventRecorder,
  type NewEvent,
  PassLoop,
  renewalTime,
} from '@pier/core';
import {
  type CertificateOwners,
  type CertificateRow,
  type CertificateStore,
  listenTo,
  type PostgresChallengeResponses,
  ROUTES_CHANNEL,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type postgres from 'postgres';

export interface CertificateRenewerOptions {
  certificates: CertificateStore;
  challenges: Pick<PostgresChallengeResponses, 'sweepExpired'>;
  issuer: CertificateIssuer;
  /** Hostnames that need certificates now (custom domains, and generated ones when configured). */
  wanted: () => Promise<string[]>;
  /** For LISTEN: a domain added wakes the renewer at once. */
  sql?: postgres.Sql;
  logger: Logger;
  /** How often due certificates are looked for. */
  intervalMs: number;
  /** How long a claimed certificate is held; renewed every third of it while its order runs. */
  leaseMs: number;
  /** First delay after a failed authorization (doubles per failure); also the delay after other errors. */
  retryMs: number;
  /** Orders running at once in this worker. */
  concurrency?: number;
  /** An order still running after this long is given up (and resumed later), so a hung CA never holds a lease forever. */
  orderTimeoutMs?: number;
  /** Where certificate events go (renewed, renewal failing, expiring within 7 days), with whom each hostname serves. */
  events?: { recorder: EventRecorder; owners: Pick<CertificateOwners, 'ownerOf' | 'expiringBefore'> };
}

/**
 * The certificate loop of the worker: keeps a certificate record per wanted
 * hostname, and orders (or renews) those that are due, each under a lease so
 * that no two workers order the same hostname. A renewed certificate replaces
 * the old one only once issued; a failure keeps the old one and backs off.
 */
export class CertificateRenewer {
  readonly #options: CertificateRenewerOptions;
  readonly #loop: PassLoop;

  constructor(options: CertificateRenewerOptions) {
    this.#options = options;
    const { sql, logger, intervalMs } = options;
    this.#loop = new PassLoop({
      name: 'certificate',
      intervalMs,
      // A domain added wakes the renewer; a burst of notifications (a domain added, then a deploy) makes one pass.
      wakeOn: sql ? listenTo(sql, ROUTES_CHANNEL) : undefined,
      wakeDelayMs: 100,
      logger,
      pass: (signal) => this.runOnce(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  /**
   * Stops looking for work and waits for the running orders. An order that
   * outlives the process is resumed later from its recorded URL. A stopped
   * renewer can still be driven by hand (`runOnce`).
   */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Runs a pass now, or right after the one running. */
  kick(): void {
    this.#loop.kick();
  }

  /**
   * One pass: track the wanted hostnames, then order every due certificate
   * this worker can claim, until none is left or `signal` aborts.
   */
  async runOnce(signal?: AbortSignal): Promise<void> {
    const { certificates, logger } = this.#options;
    const removed = await certificates.track(await this.#options.wanted());
    if (removed.length > 0) logger.info({ hostnames: removed }, 'certificates no longer needed were removed');
    await this.#options.challenges.sweepExpired();
    await this.#recordExpiring().catch((err: unknown) => logger.warn({ err }, 'could not look for expiring certificates'));
    const concurrency = this.#options.concurrency ?? 4;
    while (!signal?.aborted) {
      const claimed = await certificates.claimDue(this.#options.leaseMs, concurrency);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((row) => this.#order(row)));
    }
  }

  async #order(row: CertificateRow): Promise<void> {
    const { certificates, issuer, logger, leaseMs } = this.#options;
    const { hostname } = row;
    const heartbeat = setInterval(() => {
      certificates.extendLease(hostname, leaseMs).catch((err: unknown) => logger.warn({ err, hostname }, 'lease not renewed'));
    }, leaseMs / 3);
    try {
      const issued = await withTimeout(
        issuer.issue(hostname, {
          pendingOrderUrl: row.orderUrl,
          orderPlaced: (orderUrl) => certificates.recordOrder(hostname, orderUrl),
        }),
        this.#options.orderTimeoutMs ?? 10 * 60_000,
        `the order for ${hostname} did not finish in time`,
      );
      const renewAt = renewalTime(issued.notBefore, issued.notAfter);
      await certificates.recordIssued(hostname, issued, renewAt);
      logger.info({ hostname, notAfter: issued.notAfter, renewAt, renewal: row.certificatePem !== null }, 'certificate issued');
      if (row.certificatePem !== null)
        await this.#record(hostname, (owner) => certificateRenewedEvent(hostname, issued.notAfter, owner));
    } catch (err) {
      await this.#failed(row, err).catch((e: unknown) => logger.error({ err: e, hostname }, 'could not record a failed order'));
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #failed(row: CertificateRow, err: unknown): Promise<void> {
    const { certificates, logger, retryMs } = this.#options;
    const now = new Date();
    const error = err instanceof Error ? err.message : String(err);
    const context = { hostname: row.hostname, err, keepsCertificate: row.certificatePem !== null };
    const served = row.certificatePem !== null ? row.notAfter : null;
    if (served) await this.#record(row.hostname, (owner) => certificateRenewalFailingEvent(row.hostname, served, error, owner));
    if (err instanceof AuthorizationFailedError) {
      const backoff = afterFailedAuthorization(row.failureTimes, now, retryMs);
      await certificates.recordFailure(row.hostname, { error, keepOrder: false, ...backoff });
      logger.warn(
        { ...context, failures: backoff.failureTimes.length, nextAttemptAt: backoff.nextAttemptAt },
        'authorization failed',
      );
      return;
    }
    // The wait before this attempt, when it followed a failure too: the CA has been failing that long.
    const previousDelay = row.lastError && row.nextAttemptAt ? row.nextAttemptAt.getTime() - row.updatedAt.getTime() : 0;
    const nextAttemptAt = new Date(now.getTime() + delayAfterOtherFailure(previousDelay, retryMs));
    await certificates.recordFailure(row.hostname, { error, keepOrder: true, nextAttemptAt });
    logger.warn({ ...context, nextAttemptAt }, 'certificate order failed; it resumes later');
  }

  /** `certificate.expiring` for each served certificate that ends within 7 days (once per certificate: its dedupe key). */
  async #recordExpiring(): Promise<void> {
    const now = new Date();
    const soon = await this.#options.events?.owners.expiringBefore(new Date(now.getTime() + CERTIFICATE_EXPIRING_MS));
    for (const { hostname, notAfter } of soon ?? []) {
      await this.#record(hostname, (owner) => certificateExpiringEvent(hostname, notAfter, now, owner));
    }
  }

  /** Records the event `build` makes for the hostname's owner; never fails the renewer's own work. */
  async #record(
    hostname: string,
    build: (owner: Awaited<ReturnType<CertificateOwners['ownerOf']>>) => NewEvent | null,
  ): Promise<void> {
    const events = this.#options.events;
    if (!events) return;
    try {
      const event = build(await events.owners.ownerOf(hostname));
      if (event) await events.recorder.record(event);
    } catch (err) {
      this.#options.logger.warn({ err, hostname }, 'could not record a certificate event');
    }
  }
}

/** `promise`, or a rejection with `message` after `ms` (the promise itself runs on, unobserved). */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  promise.catch(() => {}); // a late failure after the timeout is not an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
