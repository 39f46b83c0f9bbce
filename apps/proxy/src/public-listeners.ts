import type { Server } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import type { ProxyConfig } from '@pier/config';
import { SecretBox } from '@pier/core';
import type { Logger } from '@pier/log';
import type { EdgeProxy, RouteTable } from '@pier/proxy';
import { AcmeChallengeResponder, type ChallengeLookup } from './acme-challenge-responder.ts';
import { addHsts, httpsLocation, redirect } from './https-redirect.ts';
import { createPublicServer } from './public-server.ts';
import { CertificateFeed, type CertificateSource } from './tls-certificate-feed.ts';
import { CertificateSnapshot, certificateSnapshotPath } from './tls-certificate-snapshot.ts';
import { CertificateBook, type LoadedCertificate } from './tls-certificates.ts';
import { createFallbackCertificate } from './tls-fallback.ts';

export interface PublicListenersOptions {
  config: Pick<ProxyConfig, 'PIER_HTTPS_PORT' | 'PIER_PUBLIC_HTTPS_PORT'>;
  edge: EdgeProxy;
  table: RouteTable;
  /** The certificates the HTTPS listener serves by SNI (`createCertificates`). */
  book: CertificateBook;
  /** ACME HTTP-01 answers; none when absent. */
  challengeLookup?: ChallengeLookup;
}

export interface PublicListeners {
  http: Server;
  /** HTTP/2 to clients that offer it (ALPN), HTTP/1.1 to the rest. */
  https: Http2SecureServer;
}

export interface CertificatesOptions {
  config: Pick<ProxyConfig, 'PIER_PROXY_SNAPSHOT' | 'PIER_PROXY_KEY' | 'PIER_PROXY_KEYS_PREVIOUS'>;
  /** Certificates to serve; none (the fallback only) when absent. */
  source?: CertificateSource;
  /** The self-signed certificate for hostnames without one; a fresh one when absent. */
  fallback?: { cert: string; key: string };
  /** Called with every set of certificates applied (to hand them on to other processes). */
  applied?: (certificates: readonly LoadedCertificate[]) => void;
  log: Logger;
}

export interface Certificates {
  book: CertificateBook;
  fallback: { cert: string; key: string };
  /** Follows the certificate source; start it before listening, stop it on shutdown. */
  feed: CertificateFeed | null;
}

/** The certificate set the HTTPS listener serves, and the feed that keeps it current. */
export async function createCertificates(options: CertificatesOptions): Promise<Certificates> {
  const { config, source, log } = options;
  const fallback = options.fallback ?? (await createFallbackCertificate());
  const book = new CertificateBook(fallback);
  const snapshot = new CertificateSnapshot(
    certificateSnapshotPath(config.PIER_PROXY_SNAPSHOT),
    new SecretBox(config.PIER_PROXY_KEY, config.PIER_PROXY_KEYS_PREVIOUS),
  );
  const feed = source ? new CertificateFeed({ source, book, snapshot, log, applied: options.applied }) : null;
  return { book, fallback, feed };
}

/**
 * The two public listeners around one edge proxy. Plain HTTP answers ACME
 * challenges first, then redirects hostnames that have a valid certificate
 * to HTTPS, and proxies the rest; HTTPS picks each hostname's certificate by
 * SNI (the self-signed fallback until it has one), speaks HTTP/2 to clients
 * that offer it and HTTP/1.1 to the rest, and adds HSTS where asked.
 */
export function createPublicListeners(options: PublicListenersOptions): PublicListeners {
  const { config, edge, table, book } = options;
  const challenges = new AcmeChallengeResponder(options.challengeLookup ?? noChallenges);
  const http = createPublicServer(edge, {
    intercept: (req, res) => {
      if (challenges.handle(req, res)) return true;
      const location = httpsLocation(req, table, book, config.PIER_PUBLIC_HTTPS_PORT ?? config.PIER_HTTPS_PORT);
      if (location) redirect(res, location);
      return location !== null;
    },
  });
  const https = createPublicServer(edge, {
    tls: { SNICallback: book.sniCallback, secureContext: book.contextFor(undefined) },
    intercept: (req, res) => {
      addHsts(req, res, table);
      return false;
    },
  });
  return { http, https };
}

/** Without a control plane there are no challenges to answer. */
const noChallenges: ChallengeLookup = async () => null;
