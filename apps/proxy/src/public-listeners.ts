import type { Server } from 'node:http';
import type { ProxyConfig } from '@pier/config';
import { SecretBox } from '@pier/core';
import type { Logger } from '@pier/log';
import type { EdgeProxy, RouteTable } from '@pier/proxy';
import { AcmeChallengeResponder, type ChallengeLookup } from './acme-challenge-responder.ts';
import { addHsts, httpsLocation, redirect } from './https-redirect.ts';
import { createPublicServer } from './public-server.ts';
import { CertificateFeed, type CertificateSource } from './tls-certificate-feed.ts';
import { CertificateSnapshot, certificateSnapshotPath } from './tls-certificate-snapshot.ts';
import { CertificateBook } from './tls-certificates.ts';
import { createFallbackCertificate } from './tls-fallback.ts';

export interface PublicListenersOptions {
  config: Pick<
    ProxyConfig,
    'PIER_HTTPS_PORT' | 'PIER_PUBLIC_HTTPS_PORT' | 'PIER_PROXY_SNAPSHOT' | 'PIER_PROXY_KEY' | 'PIER_PROXY_KEYS_PREVIOUS'
  >;
  edge: EdgeProxy;
  table: RouteTable;
  /** Certificates to serve; none (the fallback only) when absent. */
  certificateSource?: CertificateSource;
  /** ACME HTTP-01 answers; none when absent. */
  challengeLookup?: ChallengeLookup;
  log: Logger;
}

export interface PublicListeners {
  http: Server;
  https: Server;
  book: CertificateBook;
  /** Follows the certificate source; start it before listening, stop it on shutdown. */
  certificates: CertificateFeed | null;
}

/**
 * The two public listeners around one edge proxy. Plain HTTP answers ACME
 * challenges first, then redirects hostnames that have a valid certificate
 * to HTTPS, and proxies the rest; HTTPS picks each hostname's certificate by
 * SNI (the self-signed fallback until it has one) and adds HSTS where asked.
 */
export async function createPublicListeners(options: PublicListenersOptions): Promise<PublicListeners> {
  const { config, edge, table, log } = options;
  const book = new CertificateBook(await createFallbackCertificate());
  const snapshot = new CertificateSnapshot(
    certificateSnapshotPath(config.PIER_PROXY_SNAPSHOT),
    new SecretBox(config.PIER_PROXY_KEY, config.PIER_PROXY_KEYS_PREVIOUS),
  );
  const source = options.certificateSource;
  const certificates = source ? new CertificateFeed({ source, book, snapshot, log }) : null;
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
  return { http, https, book, certificates };
}

/** Without a control plane there are no challenges to answer. */
const noChallenges: ChallengeLookup = async () => null;
