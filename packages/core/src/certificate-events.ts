import type { NewEvent } from './events.ts';

/** The app and environment a hostname serves (a custom domain or a generated name), when it has one. */
export interface HostnameOwner {
  appId: string;
  appName: string;
  environmentId: string;
  envName: string;
}

/** A certificate is reported expiring this long before its end. */
export const CERTIFICATE_EXPIRING_MS = 7 * 24 * 3600_000;

function place(hostname: string, owner: HostnameOwner | null) {
  return {
    appId: owner?.appId ?? null,
    environmentId: owner?.environmentId ?? null,
    envName: owner?.envName ?? null,
    where: owner ? `${owner.appName} ${owner.envName}: ` : '',
    data: { hostname },
  };
}

/** `certificate.renewed`: a certificate that was served is replaced by a new one (once per new certificate). */
export function certificateRenewedEvent(hostname: string, notAfter: Date, owner: HostnameOwner | null): NewEvent {
  const { where, ...at } = place(hostname, owner);
  return {
    ...at,
    kind: 'certificate.renewed',
    message: `${where}the certificate of ${hostname} was renewed; it is valid until ${notAfter.toISOString()}.`,
    data: { ...at.data, notAfter: notAfter.toISOString() },
    dedupeKey: `certificate.renewed:${hostname}:${notAfter.toISOString()}`,
  };
}

/**
 * `certificate.renewal_failing`: the renewal of a certificate still served
 * failed; once per certificate (its `notAfter`), however often it is retried.
 */
export function certificateRenewalFailingEvent(
  hostname: string,
  notAfter: Date,
  error: string,
  owner: HostnameOwner | null,
): NewEvent {
  const { where, ...at } = place(hostname, owner);
  return {
    ...at,
    kind: 'certificate.renewal_failing',
    message: `${where}renewing the certificate of ${hostname} (valid until ${notAfter.toISOString()}) failed: ${error.slice(0, 500)}`,
    data: { ...at.data, notAfter: notAfter.toISOString(), error: error.slice(0, 500) },
    dedupeKey: `certificate.renewal_failing:${hostname}:${notAfter.toISOString()}`,
  };
}

/** `certificate.expiring` when a served certificate ends within 7 days of `now` (once per certificate), else null. */
export function certificateExpiringEvent(
  hostname: string,
  notAfter: Date,
  now: Date,
  owner: HostnameOwner | null,
): NewEvent | null {
  const left = notAfter.getTime() - now.getTime();
  if (left > CERTIFICATE_EXPIRING_MS) return null;
  const { where, ...at } = place(hostname, owner);
  const when = left <= 0 ? 'expired at' : `expires within ${Math.max(1, Math.ceil(left / 3600_000))} h, at`;
  return {
    ...at,
    kind: 'certificate.expiring',
    message: `${where}the certificate of ${hostname} ${when} ${notAfter.toISOString()}.`,
    data: { ...at.data, notAfter: notAfter.toISOString() },
    dedupeKey: `certificate.expiring:${hostname}:${notAfter.toISOString()}`,
  };
}
