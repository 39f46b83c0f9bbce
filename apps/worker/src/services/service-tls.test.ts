import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorityId, createAuthority, issueServerCertificate } from './service-tls.ts';

describe('the services CA and its server certificates', async () => {
  const authority = await createAuthority('Pier managed services CA');
  const other = await createAuthority('Pier managed services CA');
  const ca = new X509Certificate(authority.certificatePem);

  it('is a CA that may sign server certificates only, its key the one kept with it', () => {
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=Pier managed services CA');
    expect(ca.checkIssued(ca)).toBe(true);
    expect(createPublicKey(createPrivateKey(authority.keyPem)).export({ format: 'pem', type: 'spki' })).toBe(
      ca.publicKey.export({ format: 'pem', type: 'spki' }),
    );
    expect(new Date(ca.validTo).getTime() - Date.now()).toBeGreaterThan(19 * 365 * 86_400_000);
  });

  it('signs a certificate for the service’s host name that verifies against it, and not against another CA', async () => {
    const issued = await issueServerCertificate(authority, ['pier-svc-shop']);
    const leaf = new X509Certificate(issued.certificatePem);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(new X509Certificate(other.certificatePem).publicKey)).toBe(false);
    expect(leaf.checkHost('pier-svc-shop')).toBe('pier-svc-shop');
    expect(leaf.checkHost('pier-svc-other')).toBeUndefined();
    expect(leaf.subjectAltName).toBe('DNS:pier-svc-shop');
    expect(leaf.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(new Date(leaf.validTo).getTime()).toBeLessThanOrEqual(new Date(ca.validTo).getTime());
  });

  it('is identified by a fingerprint of its certificate', () => {
    expect(authorityId(authority.certificatePem)).toMatch(/^[0-9a-f]{16}$/);
    expect(authorityId(authority.certificatePem)).not.toBe(authorityId(other.certificatePem));
  });

  it('refuses a certificate for no name', async () => {
    await expect(issueServerCertificate(authority, [])).rejects.toThrow(RangeError);
  });
});
