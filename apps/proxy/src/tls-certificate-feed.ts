import type { Logger } from '@pier/log';
import type { CertificateSnapshot } from './tls-certificate-snapshot.ts';
import type { CertificateBook, LoadedCertificate } from './tls-certificates.ts';

/** Where the proxy's certificates come from (Postgres: query + LISTEN/NOTIFY). */
export interface CertificateSource {
  load(): Promise<{ certificates: LoadedCertificate[]; unreadable: string[] }>;
  /** Calls `onChange` after a certificate is issued, renewed or removed; returns an unsubscribe function. */
  subscribe(onChange: () => void): () => void;
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
}

/**
 * Keeps the CertificateBook current: loads every certificate at start, again
 * shortly after each change notification, and in full every minute. A
 * failed load keeps the certificates being served; when the first load
 * fails, the snapshot's certificates are served until Postgres answers.
 */
export class CertificateFeed {
  readonly #options: CertificateFeedOptions;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #loading: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #lastError: string | undefined;
  #savedJson: string | undefined;
  #loadedOnce = false;

  constructor(options: CertificateFeedOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#unsubscribe = this.#options.source.subscribe(() => {
      // A change during a load makes one more load right after it.
      if (this.#loading) this.#again = true;
      else this.#schedule(this.#options.debounceMs ?? 100);
    });
    await this.reload();
    if (!this.#loadedOnce) await this.#loadSnapshot();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#timer);
    await this.#loading;
  }

  /** Loads now; concurrent calls share one load plus at most one more. */
  reload(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      do {
        this.#again = false;
        const ok = await this.#loadOnce();
        this.#schedule(ok ? (this.#options.fullReloadMs ?? 60_000) : (this.#options.retryMs ?? 5_000));
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #loadOnce(): Promise<boolean> {
    const { source, book, log } = this.#options;
    try {
      const { certificates, unreadable } = await source.load();
      if (this.#stopped) return true;
      this.#loadedOnce = true;
      void this.#save(certificates);
      const { changed, invalid } = book.replace(certificates);
      if (changed.length > 0) log.info({ hostnames: changed, total: book.size }, 'certificates loaded');
      if (invalid.length + unreadable.length > 0) {
        log.warn({ invalid, unreadable }, 'certificates that cannot be served (key mismatch or unknown secret key)');
      }
      this.#lastError = undefined;
      return true;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (text !== this.#lastError) log.warn({ err: text }, 'cannot load certificates; keeping those being served');
      this.#lastError = text;
      return false;
    }
  }

  async #loadSnapshot(): Promise<void> {
    const { snapshot, book, log } = this.#options;
    if (!snapshot) return;
    try {
      const certificates = await snapshot.load();
      if (this.#loadedOnce) return;
      book.replace(certificates);
      log.info({ path: snapshot.path, certificates: certificates.length }, 'serving certificates from the snapshot');
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : String(err), path: snapshot.path }, 'no usable certificate snapshot');
    }
  }

  async #save(certificates: LoadedCertificate[]): Promise<void> {
    const { snapshot, log } = this.#options;
    const json = JSON.stringify(certificates.map((c) => [c.hostname, c.certificatePem]));
    if (!snapshot || json === this.#savedJson) return;
    try {
      await snapshot.save(certificates);
      this.#savedJson = json;
    } catch (err) {
      log.warn(
        { err: err instanceof Error ? err.message : String(err), path: snapshot.path },
        'cannot save the certificate snapshot',
      );
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), ms);
    this.#timer.unref();
  }
}
