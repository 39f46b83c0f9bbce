import { createHash, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/**
 * The installation's certificate authority for managed services, and the
 * server certificates it signs, made with `@peculiar/x509` (already what the
 * proxy's fallback certificate and the Pebble tests use) over Node's
 * WebCrypto: no openssl binary needed on the host. ECDSA P-256 keys, which
 * libpq, Node, Python, Go and Java clients all verify.
 */

/** A PEM certificate and its PKCS#8 PEM private key. */
export interface KeyedCertificate {
  certificatePem: string;
  keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** The CA outlives any installation's hardware; a new one would mean every app trusting it anew. */
const AUTHORITY_DAYS = 20 * 365;
/**
 * A server certificate is issued at each start of its container, valid long
 * enough that a container never outlives it (clients do not limit the
 * lifetime of a private CA's certificates, as browsers do public ones).
 */
const SERVER_DAYS = 10 * 365;

const crypto = webcrypto as unknown as Parameters<typeof X509.X509CertificateGenerator.create>[1];

/** @peculiar/x509 (~3 MB of heap), loaded when a managed service first needs a certificate, not at every start. */
const loadX509 = () => import('@peculiar/x509');

/** A new self-signed CA: may sign server certificates only (path length 0). */
export async function createAuthority(commonName: string): Promise<KeyedCertificate> {
  const x509 = await loadX509();
  const keys = await newKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + AUTHORITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certificatePem: certificate.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** A server certificate for `hostnames` (its SANs; the first is its CN too), signed by `authority`. */
export async function issueServerCertificate(
  authority: KeyedCertificate,
  hostnames: readonly string[],
): Promise<KeyedCertificate> {
  const [first] = hostnames;
  if (!first) throw new RangeError('a server certificate needs at least one hostname');
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(authority.certificatePem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(authority.keyPem), ALGORITHM, false, ['sign']);
  const keys = await newKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: `CN=${first}`,
      issuer: ca.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(Math.min(now + SERVER_DAYS * DAY_MS, ca.notAfter.getTime())),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(hostnames.map((value) => ({ type: 'dns' as const, value }))),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );
  return { certificatePem: certificate.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
}

/** A short fingerprint of a CA certificate: containers are labelled with the CA that signed theirs. */
export function authorityId(certificatePem: string): string {
  return createHash('sha256').update(pemBody(certificatePem)).digest('hex').slice(0, 16);
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** 16 random bytes, positive (the first bit clear), as RFC 5280 asks. */
function serialNumber(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END PRIVATE KEY-----\n`;
}

/** The DER bytes of a one-block PEM. */
function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
