import { type HostnameOwner, hostnamesFor } from '@pier/core';
import { and, eq, isNotNull, lt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apps, certificates, domains, environments } from '../schema.ts';

/**
 * Whom certificates serve, for their events: the app and environment of a
 * hostname (a custom domain, else an environment's generated name under
 * `baseDomain`), and the served certificates that end before a time.
 */
export class CertificateOwners {
  constructor(
    private readonly db: Db,
    private readonly baseDomain: string,
  ) {}

  async ownerOf(hostname: string): Promise<HostnameOwner | null> {
    const owner = {
      appId: apps.id,
      appName: apps.name,
      environmentId: environments.id,
      envName: environments.name,
    };
    const [custom] = await this.db
      .select(owner)
      .from(domains)
      .innerJoin(environments, eq(environments.id, domains.environmentId))
      .innerJoin(apps, eq(apps.id, environments.appId))
      .where(eq(domains.hostname, hostname));
    if (custom) return custom;
    const all = await this.db.select(owner).from(environments).innerJoin(apps, eq(apps.id, environments.appId));
    return all.find((e) => hostnamesFor(e.appName, e.envName, this.baseDomain)[0] === hostname) ?? null;
  }

  /** Served certificates (issued, with a key) whose end is before `at`. */
  async expiringBefore(at: Date): Promise<{ hostname: string; notAfter: Date }[]> {
    const rows = await this.db
      .select({ hostname: certificates.hostname, notAfter: certificates.notAfter })
      .from(certificates)
      .where(and(isNotNull(certificates.certificatePem), isNotNull(certificates.notAfter), lt(certificates.notAfter, at)));
    return rows.flatMap((r) => (r.notAfter ? [{ hostname: r.hostname, notAfter: r.notAfter }] : []));
  }
}
