import { readFile } from 'node:fs/promises';
import type { AcmeIssuerOptions } from '@pier/acme';
import { exitOnStartupError, type WorkerConfig } from '@pier/config';
import { type CertificateIssuer, SecretBox } from '@pier/core';
import {
  CertificateOwners,
  CertificateStore,
  type Db,
  EventStore,
  PostgresAcmeAccountStore,
  PostgresChallengeResponses,
} from '@pier/db';
import type { Logger } from '@pier/log';
import type { CertificateRenewerOptions } from './certificate-renewer.ts';

/** The certificate loop's dependencies from the worker's configuration: the ACME CA, its account, the stores. */
export async function certificateLoopFromConfig(
  config: WorkerConfig,
  db: Db,
  box: SecretBox,
  logger: Logger,
): Promise<Omit<CertificateRenewerOptions, 'logger' | 'sql'>> {
  const bundle = config.PIER_ACME_CA_BUNDLE;
  const extraCaPem = bundle
    ? await readFile(bundle, 'utf8').catch((err: Error) =>
        exitOnStartupError('worker', new Error(`PIER_ACME_CA_BUNDLE: cannot read ${bundle}: ${err.message}`)),
      )
    : undefined;
  // Certificate keys are sealed for the proxy, under a key of its own: it never holds PIER_SECRET_KEY.
  const certificates = new CertificateStore(db, new SecretBox(config.PIER_PROXY_KEY, config.PIER_PROXY_KEYS_PREVIOUS));
  const { resealed, unreadable } = await certificates.resealKeys(box);
  if (resealed > 0) logger.info({ resealed }, 'certificate keys re-sealed under PIER_PROXY_KEY');
  if (unreadable.length > 0) {
    logger.warn(
      { hostnames: unreadable },
      'certificate keys no configured key opens, so the proxy cannot serve them: keep the key that sealed them in PIER_SECRET_KEYS_PREVIOUS or PIER_PROXY_KEYS_PREVIOUS',
    );
  }
  const challenges = new PostgresChallengeResponses(db);
  const email = config.PIER_ACME_EMAIL ?? null;
  const issuer = lazyAcmeIssuer(extraCaPem, {
    directoryUrl: config.PIER_ACME_DIRECTORY_URL,
    email,
    accounts: new PostgresAcmeAccountStore(db, box),
    challenges,
    log: logger,
  });
  return {
    certificates,
    challenges,
    issuer,
    wanted: () =>
      certificates.wantedHostnames(
        config.PIER_BASE_DOMAIN,
        email !== null,
        config.PIER_CONTROL_HOSTNAME ? [config.PIER_CONTROL_HOSTNAME] : [],
      ),
    intervalMs: config.PIER_ACME_CHECK_INTERVAL_MS,
    leaseMs: config.PIER_ACME_LEASE_MS,
    retryMs: config.PIER_ACME_RETRY_MS,
    events: { recorder: new EventStore(db), owners: new CertificateOwners(db, config.PIER_BASE_DOMAIN) },
  };
}

/**
 * The ACME issuer, loaded with acme-client (~8 MB of heap) when the first
 * certificate is ordered: a worker whose certificates are all valid never
 * loads it. A failed load is tried again by the next order.
 */
function lazyAcmeIssuer(extraCaPem: string | undefined, options: AcmeIssuerOptions): CertificateIssuer {
  let issuer: Promise<CertificateIssuer> | undefined;
  const load = async (): Promise<CertificateIssuer> => {
    const { AcmeIssuer, configureAcmeTransport } = await import('@pier/acme');
    configureAcmeTransport({ extraCaPem });
    return new AcmeIssuer(options);
  };
  return {
    issue: async (hostname, journal) => {
      issuer ??= load().catch((err: unknown) => {
        issuer = undefined;
        throw err;
      });
      return (await issuer).issue(hostname, journal);
    },
  };
}
