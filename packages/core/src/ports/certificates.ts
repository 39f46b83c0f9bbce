/** A certificate as issued: the chain the proxy serves and the key it belongs to. */
export interface IssuedCertificate {
  /** PEM, leaf first, then the intermediates. */
  certificatePem: string;
  /** PEM of the private key; sealed before it is stored, never logged. */
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** An ACME account: one per directory URL, its key created once. */
export interface AcmeAccount {
  directoryUrl: string;
  email: string | null;
  /** Set once the CA has registered the key. */
  accountUrl: string | null;
  /** PEM of the account key; sealed at rest, never logged. */
  privateKeyPem: string;
}

/**
 * Port: where the ACME account lives. Contract:
 * - `load` returns the account of a directory URL, or null.
 * - `create` stores a new account unless one exists for the directory URL
 *   already (two workers starting together), and returns the one stored:
 *   whoever loses the race uses the winner's key.
 * - `setAccountUrl` records the URL the CA gave the account.
 */
export interface AcmeAccountStore {
  load(directoryUrl: string): Promise<AcmeAccount | null>;
  create(account: AcmeAccount): Promise<AcmeAccount>;
  setAccountUrl(directoryUrl: string, accountUrl: string, email: string | null): Promise<void>;
}

/**
 * Port: the HTTP-01 answers the proxy serves at
 * `/.well-known/acme-challenge/<token>`. Contract: `publish` is idempotent
 * (an order resumed after a crash publishes the same token again) and
 * visible to the proxy once it resolves; `withdraw` ignores unknown tokens.
 */
export interface ChallengeResponses {
  publish(token: string, hostname: string, keyAuthorization: string, expiresAt: Date): Promise<void>;
  withdraw(token: string): Promise<void>;
}

/** What the issuer needs to know about, and tell, the certificate record of one hostname. */
export interface OrderJournal {
  /** The URL of this hostname's unfinished order, resumed rather than replaced (null: none). */
  pendingOrderUrl: string | null;
  /** Called as soon as a new order exists at the CA, before any challenge is answered. */
  orderPlaced(orderUrl: string): Promise<void>;
}

/**
 * Port: a certificate authority speaking ACME. Contract:
 * - `issue` obtains a certificate for one hostname with HTTP-01: it resumes
 *   `journal.pendingOrderUrl` when that order can still complete, else
 *   places a new order and reports its URL through `journal.orderPlaced`
 *   before answering any challenge; it publishes each key authorization
 *   before telling the CA to validate, and withdraws it afterwards.
 * - A challenge the CA could not validate rejects with
 *   `AuthorizationFailedError` (counted towards the per-hostname limit; the
 *   order is dead). Anything else (CA unreachable, timeouts) rejects with
 *   another error, and the order may be resumed later.
 */
export interface CertificateIssuer {
  issue(hostname: string, journal: OrderJournal): Promise<IssuedCertificate>;
}
