import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { canonicalHostname } from '@pier/core';

/** One hostname's certificate as served. */
interface Entry {
  context: SecureContext;
  /** PEM of the chain, to tell a renewal from a reload of the same certificate. */
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate as loaded from the store. */
export interface LoadedCertificate {
  hostname: string;
  certificatePem: string;
  privateKeyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * TLS 1.2 and 1.3 only, with forward-secret AEAD suites for 1.2 (Mozilla's
 * "intermediate" profile); TLS 1.3 suites are all modern and stay Node's defaults.
 */
export const TLS_SETTINGS: SecureContextOptions = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: false,
};

/**
 * The proxy's certificates by hostname, as secure contexts. `replace` swaps
 * the whole set; a handshake in progress or a connection already open keeps
 * the context it got, so a renewal drops nothing. Hostnames without a
 * certificate get the fallback (self-signed) context.
 */
export class CertificateBook {
  #byHost = new Map<string, Entry>();
  readonly #fallback: SecureContext;

  constructor(fallback: { cert: string; key: string }) {
    this.#fallback = createSecureContext({ ...TLS_SETTINGS, ...fallback });
  }

  /**
   * Replaces the set. Contexts of unchanged certificates are reused; one that
   * cannot be built (a key that does not match) is skipped and reported.
   */
  replace(certificates: readonly LoadedCertificate[]): { changed: string[]; invalid: string[] } {
    const next = new Map<string, Entry>();
    const changed: string[] = [];
    const invalid: string[] = [];
    for (const cert of certificates) {
      const hostname = canonicalHostname(cert.hostname);
      const current = this.#byHost.get(hostname);
      if (current && current.pem === cert.certificatePem) {
        next.set(hostname, current);
        continue;
      }
      try {
        const context = createSecureContext({ ...TLS_SETTINGS, cert: cert.certificatePem, key: cert.privateKeyPem });
        next.set(hostname, { context, pem: cert.certificatePem, notBefore: cert.notBefore, notAfter: cert.notAfter });
        changed.push(hostname);
      } catch {
        invalid.push(hostname);
        if (current) next.set(hostname, current);
      }
    }
    for (const hostname of this.#byHost.keys()) if (!next.has(hostname)) changed.push(hostname);
    this.#byHost = next;
    return { changed, invalid };
  }

  /** The context for a handshake naming `servername` (SNI); the fallback when there is none. */
  contextFor(servername: string | undefined): SecureContext {
    if (!servername) return this.#fallback;
    return this.#byHost.get(canonicalHostname(servername))?.context ?? this.#fallback;
  }

  /** True while `hostname` has a certificate valid at `now`: only then is plain HTTP redirected. */
  hasValid(hostname: string, now: Date = new Date()): boolean {
    const entry = this.#byHost.get(hostname);
    return entry !== undefined && entry.notBefore <= now && now < entry.notAfter;
  }

  get size(): number {
    return this.#byHost.size;
  }

  /** Prometheus gauge lines: each served certificate's expiry (alert when one nears it: renewal is failing). */
  metricLines(): string {
    const lines = [
      '# HELP pier_proxy_certificate_expiry_timestamp_seconds When each certificate the proxy serves expires (Unix time).',
      '# TYPE pier_proxy_certificate_expiry_timestamp_seconds gauge',
      ...[...this.#byHost].map(
        ([hostname, entry]) =>
          `pier_proxy_certificate_expiry_timestamp_seconds{hostname=${JSON.stringify(hostname)}} ${Math.floor(entry.notAfter.getTime() / 1000)}`,
      ),
    ];
    return `${lines.join('\n')}\n`;
  }

  /** `SNICallback` for `tls.createServer`. */
  readonly sniCallback = (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void): void => {
    callback(null, this.contextFor(servername));
  };
}
