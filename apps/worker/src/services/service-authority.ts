import { serviceContainerName, serviceEngine } from '@pier/core';
import type { ServiceRow, ServiceStore } from '@pier/db';
import type { ServiceTls } from './service-spec.ts';
import { authorityId, createAuthority, issueServerCertificate, type KeyedCertificate } from './service-tls.ts';

/**
 * The installation's CA for managed services, as the worker uses it: made on
 * first need and kept in Postgres (key sealed; two workers making it at once
 * both end up with the first kept), then held in memory. Each start of a
 * service's container gets a fresh server certificate from it, for the name
 * apps reach the service by (the host of DATABASE_URL).
 */
export class ServiceAuthority {
  #kept: Promise<KeyedCertificate> | undefined;

  constructor(private readonly store: Pick<ServiceStore, 'authority' | 'keepAuthority'>) {}

  /** The CA, made and kept if the installation has none yet. */
  authority(): Promise<KeyedCertificate> {
    this.#kept ??= this.load().catch((err: unknown) => {
      this.#kept = undefined; // tried again on the next need
      throw err;
    });
    return this.#kept;
  }

  /** Its fingerprint: what a container serving a certificate of it is labelled with. */
  async id(): Promise<string> {
    return authorityId((await this.authority()).certificatePem);
  }

  /** A server certificate for `service`, or undefined when its engine speaks no TLS. */
  async serverTls(service: Pick<ServiceRow, 'name' | 'type'>): Promise<ServiceTls | undefined> {
    if (!serviceEngine(service.type).tls) return undefined;
    const authority = await this.authority();
    const issued = await issueServerCertificate(authority, [serviceContainerName(service.name)]);
    return { ...issued, authorityId: authorityId(authority.certificatePem) };
  }

  private async load(): Promise<KeyedCertificate> {
    return (await this.store.authority()) ?? this.store.keepAuthority(await createAuthority('Pier managed services CA'));
  }
}
