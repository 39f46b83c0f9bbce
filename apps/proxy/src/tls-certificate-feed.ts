import { Feed, type FeedSnapshot } from '@pier/core';
import type { Logger } from '@pier/log';
import type { CertificateSnapshot } from './tls-certificate-snapshot.ts';
import type { CertificateBook, LoadedCertificate } from './tls-certificates.ts';

/** What one load of the certificates gives: those to serve, and the hostnames whose keys cannot be opened. */
export interface LoadedCertificates {
  certificates: LoadedCertificate[];
  unreadable: string[];
}

/** Where the proxy's certificates come from (Postgres: query + LISTEN/NOTIFY). */
export interface CertificateSource {
  load(): Promise<LoadedCertificates>;
  /** Calls `onChange` after a certificate is issued, renewed or removed; returns an unsubscribe function. */
  subscribe(onChange: () => void, onError?: (err: unknown) => void): () => void;
}

export interface CertificateFeedOptions {
  source: CertificateSource;
  book: CertificateBook;
  /** Last-known-good certificates on disk: saved after each load, served when the first load fails. */
  snapshot?: CertificateSnapshot;
  log: Logger;
  /** Notifications within this window cause one reload. */
  debounceMs?: number;
  /** Full reload even without notifications, in case one was lost. */
  fullReloadMs?: number;
  /** After a failed load, try again this soon. */
  retryMs?: number;
  /** Called with every set of certificates applied to the book (to hand them on to other processes). */
  applied?: (certificates: readonly LoadedCertificate[]) => void;
}

/**
 * Keeps the CertificateBook current: a `Feed` of the certificates (loaded at
 * start, shortly after each change notification, and in full every minute).
 * A failed load keeps the certificates being served; when the first load
 * fails, the snapshot's certificates are served until Postgres answers.
 */
export class CertificateFeed {
  readonly #feed: Feed<LoadedCertificates>;

  constructor(options: CertificateFeedOptions) {
    const { book, log } = options;
    this.#feed = new Feed({
      name: 'certificates',
      source: options.source,
      snapshot: options.snapshot ? feedSnapshot(options.snapshot) : undefined,
      apply: ({ certificates, unreadable }) => {
        const { changed, invalid } = book.replace(certificates);
        options.applied?.(certificates);
        if (changed.length > 0) log.info({ hostnames: changed, total: book.size }, 'certificates loaded');
        if (invalid.length + unreadable.length > 0) {
          log.warn({ invalid, unreadable }, 'certificates that cannot be served (key mismatch or unknown secret key)');
        }
      },
      // The certificates name their keys: the private keys need not be part of the comparison.
      key: ({ certificates, unreadable }) =>
        JSON.stringify([certificates.map((c) => [c.hostname, c.certificatePem]), unreadable]),
      describe: ({ certificates }) => ({ certificates: certificates.length }),
      logger: log,
      debounceMs: options.debounceMs ?? 100,
      fullReloadMs: options.fullReloadMs,
      retryMs: options.retryMs,
    });
  }

  async start(): Promise<void> {
    await this.#feed.start();
  }

  stop(): Promise<void> {
    return this.#feed.stop();
  }

  /** Loads now; concurrent calls share one load plus at most one more. */
  reload(): Promise<void> {
    return this.#feed.reload();
  }
}

/** The snapshot file as the feed's snapshot (it keeps the certificates it can open). */
function feedSnapshot(snapshot: CertificateSnapshot): FeedSnapshot<LoadedCertificates> {
  return {
    path: snapshot.path,
    load: async () => ({ certificates: await snapshot.load(), unreadable: [] }),
    save: ({ certificates }) => snapshot.save(certificates),
  };
}
