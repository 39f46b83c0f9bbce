import type { SecretBox } from '@pier/core';
import { eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { certificateAuthorities } from '../schema.ts';

/** The installation's CA that signs every managed Postgres's certificate (the row `name = 'services'`). */
export const SERVICES_AUTHORITY = 'services';

/** A certificate authority: its certificate and its private key, both PEM. The key is never logged. */
export interface CertificateAuthority {
  certificatePem: string;
  keyPem: string;
}

/** The context its key is sealed for (`SEALED_COLUMNS` builds the same). */
export function authorityKeyContext(name: string): string {
  return `certificate-authority:${name}`;
}

/** Its certificate alone (what apps are given), or null before the worker has made it. */
export async function authorityCertificate(db: Db, name: string): Promise<string | null> {
  const [row] = await db
    .select({ certificatePem: certificateAuthorities.certificatePem })
    .from(certificateAuthorities)
    .where(eq(certificateAuthorities.name, name));
  return row?.certificatePem ?? null;
}

export async function readAuthority(db: Db, box: SecretBox, name: string): Promise<CertificateAuthority | null> {
  const [row] = await db.select().from(certificateAuthorities).where(eq(certificateAuthorities.name, name));
  if (!row) return null;
  return {
    certificatePem: row.certificatePem,
    keyPem: box.open({ keyId: row.keyId, ciphertext: row.keyCiphertext }, authorityKeyContext(name)),
  };
}

/**
 * Keeps `made` as the authority `name` unless one exists already, and returns
 * the one kept: two workers making it at once both end up with the first.
 */
export async function keepAuthority(
  db: Db,
  box: SecretBox,
  name: string,
  made: CertificateAuthority,
): Promise<CertificateAuthority> {
  const sealed = box.seal(made.keyPem, authorityKeyContext(name));
  await db
    .insert(certificateAuthorities)
    .values({ name, certificatePem: made.certificatePem, keyCiphertext: sealed.ciphertext, keyId: sealed.keyId })
    .onConflictDoNothing({ target: certificateAuthorities.name });
  const kept = await readAuthority(db, box, name);
  if (!kept) throw new Error(`certificate authority ${name} was neither inserted nor found`);
  return kept;
}
