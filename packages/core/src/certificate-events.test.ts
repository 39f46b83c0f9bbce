import { describe, expect, it } from 'vitest';
import {
  certificateExpiringEvent,
  certificateRenewalFailingEvent,
  certificateRenewedEvent,
  type HostnameOwner,
} from './certificate-events.ts';

const owner: HostnameOwner = { appId: 'a1', appName: 'shop', environmentId: 'e1', envName: 'production' };
const notAfter = new Date('2026-03-10T00:00:00Z');

describe('certificate events', () => {
  it.each([
    ['8 days before: nothing', '2026-03-02T00:00:00Z', null],
    [
      'just within 7 days',
      '2026-03-03T00:00:00Z',
      'shop production: the certificate of shop.example.com expires within 168 h, at 2026-03-10T00:00:00.000Z.',
    ],
    [
      'an hour before',
      '2026-03-09T23:00:00Z',
      'shop production: the certificate of shop.example.com expires within 1 h, at 2026-03-10T00:00:00.000Z.',
    ],
    [
      'after its end',
      '2026-03-11T00:00:00Z',
      'shop production: the certificate of shop.example.com expired at 2026-03-10T00:00:00.000Z.',
    ],
  ])('expiring: %s', (_name, now, message) => {
    const event = certificateExpiringEvent('shop.example.com', notAfter, new Date(now), owner);
    expect(event?.message ?? null).toBe(message);
    if (event) expect(event.dedupeKey).toBe('certificate.expiring:shop.example.com:2026-03-10T00:00:00.000Z');
  });

  it('renewed and renewal failing name the hostname and, when known, the app', () => {
    expect(certificateRenewedEvent('www.example.com', notAfter, null)).toMatchObject({
      kind: 'certificate.renewed',
      appId: null,
      message: 'the certificate of www.example.com was renewed; it is valid until 2026-03-10T00:00:00.000Z.',
    });
    const failing = certificateRenewalFailingEvent('shop.example.com', notAfter, 'the CA said no', owner);
    expect(failing).toMatchObject({
      kind: 'certificate.renewal_failing',
      appId: 'a1',
      envName: 'production',
      message:
        'shop production: renewing the certificate of shop.example.com (valid until 2026-03-10T00:00:00.000Z) failed: the CA said no',
      dedupeKey: 'certificate.renewal_failing:shop.example.com:2026-03-10T00:00:00.000Z',
    });
  });
});
