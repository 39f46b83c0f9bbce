import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';

export interface AcmeTransportOptions {
  /**
   * Extra CA certificates (PEM) trusted for the HTTPS connection to the ACME
   * directory only, on top of the system roots: a private or test CA's root.
   */
  extraCaPem?: string;
  /** A request to the CA that has not been answered after this long fails (default 30 s). */
  requestTimeoutMs?: number;
  /** Retries of a request that got no answer or a 5xx/429, and the delay step between them. */
  retryAttempts?: number;
  retryDelaySeconds?: number;
}

/**
 * Configures the HTTP client acme-client uses (its own axios instance, so
 * nothing else in the process is affected). TLS verification stays on: a CA
 * bundle adds trust, it never turns checking off.
 */
export function configureAcmeTransport(options: AcmeTransportOptions): void {
  const defaults = acme.axios.defaults as typeof acme.axios.defaults & {
    acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
  };
  if (options.extraCaPem) {
    defaults.httpsAgent = new Agent({ ca: [...rootCertificates, options.extraCaPem], keepAlive: true });
  }
  defaults.timeout = options.requestTimeoutMs ?? 30_000;
  defaults.acmeSettings.retryMaxAttempts = options.retryAttempts ?? 3;
  defaults.acmeSettings.retryDefaultDelay = options.retryDelaySeconds ?? 2;
}
