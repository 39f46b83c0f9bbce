import {
  type AcmeAccountStore,
  AuthorizationFailedError,
  type CertificateIssuer,
  type ChallengeResponses,
  type IssuedCertificate,
  type OrderJournal,
} from '@pier/core';
import * as acme from 'acme-client';

type Order = acme.Order;
type Authorization = acme.Authorization;

export interface AcmeIssuerLog {
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
}

export interface AcmeIssuerOptions {
  /** RFC 8555 directory, e.g. Let's Encrypt's. */
  directoryUrl: string;
  /** Contact of the ACME account (expiry notices); null: none. */
  email: string | null;
  accounts: AcmeAccountStore;
  challenges: ChallengeResponses;
  /** How long a published key authorization stays answerable at most. */
  challengeTtlMs?: number;
  /** Polling of authorizations and orders the CA is working on: first delay, longest delay, attempts. */
  pollMinMs?: number;
  pollMaxMs?: number;
  pollAttempts?: number;
  log?: AcmeIssuerLog;
}

const quiet: AcmeIssuerLog = { info: () => {}, warn: () => {} };

/**
 * CertificateIssuer over acme-client (RFC 8555, HTTP-01). The account key is
 * created on first use and kept in the AcmeAccountStore; certificate keys are
 * ECDSA P-256, created for each order just before it is finalized.
 */
export class AcmeIssuer implements CertificateIssuer {
  readonly #options: AcmeIssuerOptions;
  readonly #log: AcmeIssuerLog;
  #client: Promise<acme.Client> | undefined;

  constructor(options: AcmeIssuerOptions) {
    this.#options = options;
    this.#log = options.log ?? quiet;
  }

  async issue(hostname: string, journal: OrderJournal): Promise<IssuedCertificate> {
    const client = await this.#accountClient();
    let order = await this.#resume(client, hostname, journal.pendingOrderUrl);
    if (!order) {
      order = await client.createOrder({ identifiers: [{ type: 'dns', value: hostname }] });
      await journal.orderPlaced(order.url);
      this.#log.info({ hostname, orderUrl: order.url }, 'ACME order placed');
    }
    if (order.status === 'pending') {
      for (const authz of await client.getAuthorizations(order)) await this.#authorize(client, hostname, authz);
      order = await this.#settled(client, hostname, order);
    }
    if (order.status !== 'ready') throw new Error(`order for ${hostname} is ${order.status}, expected ready`);
    const privateKey = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: hostname, altNames: [hostname] }, privateKey);
    const finalized = await client.finalizeOrder(order, csr);
    const certificatePem = await client.getCertificate(finalized);
    const info = acme.crypto.readCertificateInfo(certificatePem);
    return { certificatePem, privateKeyPem: privateKey.toString(), notBefore: info.notBefore, notAfter: info.notAfter };
  }

  /**
   * The pending order to carry on with, or null for a new one. An order that
   * failed its authorization while nobody watched still counts as a failure;
   * one already finalized lost its key with the process that made it.
   */
  async #resume(client: acme.Client, hostname: string, orderUrl: string | null): Promise<Order | null> {
    if (!orderUrl) return null;
    let order: Order;
    try {
      order = await client.getOrder({ url: orderUrl } as Order);
    } catch (err) {
      this.#log.warn({ hostname, orderUrl, err }, 'pending ACME order unreadable; placing a new one');
      return null;
    }
    if (order.status === 'invalid') throw new AuthorizationFailedError(hostname, 'the pending order became invalid');
    if (order.expires && Date.parse(order.expires) < Date.now() + 60_000) return null;
    if (order.status === 'pending' || order.status === 'ready') {
      this.#log.info({ hostname, orderUrl, status: order.status }, 'resuming the pending ACME order');
      return order;
    }
    this.#log.warn(
      { hostname, orderUrl, status: order.status },
      'pending ACME order was finalized without us; placing a new one',
    );
    return null;
  }

  /** Answers one authorization's HTTP-01 challenge and waits for the CA's verdict. */
  async #authorize(client: acme.Client, hostname: string, authz: Authorization): Promise<void> {
    if (authz.status === 'valid') return;
    if (authz.status !== 'pending') throw new AuthorizationFailedError(hostname, `authorization is ${authz.status}`);
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) throw new AuthorizationFailedError(hostname, 'the CA offers no http-01 challenge');
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    const expiresAt = new Date(Date.now() + (this.#options.challengeTtlMs ?? 60 * 60_000));
    await this.#options.challenges.publish(challenge.token, hostname, keyAuthorization, expiresAt);
    if (challenge.status === 'pending') await client.completeChallenge(challenge);
    try {
      await client.waitForValidStatus(authz);
    } catch (err) {
      const [current] = await client.getAuthorizations({ authorizations: [authz.url] } as Order);
      // Still pending (the CA is slow): keep the answer published, the order resumes later.
      if (current?.status !== 'invalid') throw err;
      await this.#options.challenges.withdraw(challenge.token);
      const failed = current.challenges.find((c) => c.type === 'http-01');
      const detail = (failed?.error as { detail?: string } | undefined)?.detail;
      throw new AuthorizationFailedError(hostname, detail ?? errorText(err));
    }
    await this.#options.challenges.withdraw(challenge.token);
  }

  /** The order once the CA has taken in every authorization (ready), or a failure. */
  async #settled(client: acme.Client, hostname: string, order: Order): Promise<Order> {
    try {
      // acme-client returns the CA's body, which has no URL of its own.
      return { ...(await client.waitForValidStatus(order)), url: order.url };
    } catch (err) {
      const current = await client.getOrder(order);
      if (current.status === 'invalid') throw new AuthorizationFailedError(hostname, errorText(err));
      throw err;
    }
  }

  /** One client per process, on the stored account (created and registered on first use). */
  #accountClient(): Promise<acme.Client> {
    this.#client ??= this.#connect().catch((err: unknown) => {
      this.#client = undefined;
      throw err;
    });
    return this.#client;
  }

  async #connect(): Promise<acme.Client> {
    const { directoryUrl, email, accounts } = this.#options;
    let account = await accounts.load(directoryUrl);
    if (!account) {
      const privateKeyPem = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      account = await accounts.create({ directoryUrl, email, accountUrl: null, privateKeyPem });
    }
    const client = new acme.Client({
      directoryUrl,
      accountKey: account.privateKeyPem,
      ...(account.accountUrl ? { accountUrl: account.accountUrl } : {}),
      backoffMin: this.#options.pollMinMs ?? 1000,
      backoffMax: this.#options.pollMaxMs ?? 10_000,
      backoffAttempts: this.#options.pollAttempts ?? 12,
    });
    if (!account.accountUrl || account.email !== email) {
      await client.createAccount({ termsOfServiceAgreed: true, contact: email ? [`mailto:${email}`] : [] });
      await accounts.setAccountUrl(directoryUrl, client.getAccountUrl(), email);
      this.#log.info({ directoryUrl, accountUrl: client.getAccountUrl() }, 'ACME account registered');
    }
    return client;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
