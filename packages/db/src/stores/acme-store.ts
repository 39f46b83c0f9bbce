import type { AcmeAccount, AcmeAccountStore, ChallengeResponses, SecretBox } from '@pier/core';
import { eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { acmeAccounts, acmeChallenges } from '../schema.ts';

const accountContext = (directoryUrl: string) => `acme-account-key:${directoryUrl}`;

/** The ACME account of each directory URL, its key sealed with the SecretBox. */
export class PostgresAcmeAccountStore implements AcmeAccountStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async load(directoryUrl: string): Promise<AcmeAccount | null> {
    const [row] = await this.db.select().from(acmeAccounts).where(eq(acmeAccounts.directoryUrl, directoryUrl));
    if (!row) return null;
    const privateKeyPem = this.box.open({ keyId: row.keyId, ciphertext: row.keyCiphertext }, accountContext(directoryUrl));
    return { directoryUrl, email: row.email, accountUrl: row.accountUrl, privateKeyPem };
  }

  async create(account: AcmeAccount): Promise<AcmeAccount> {
    const sealed = this.box.seal(account.privateKeyPem, accountContext(account.directoryUrl));
    await this.db
      .insert(acmeAccounts)
      .values({
        directoryUrl: account.directoryUrl,
        email: account.email,
        accountUrl: account.accountUrl,
        keyCiphertext: sealed.ciphertext,
        keyId: sealed.keyId,
      })
      .onConflictDoNothing();
    const stored = await this.load(account.directoryUrl);
    if (!stored) throw new Error('the ACME account vanished right after it was stored');
    return stored;
  }

  async setAccountUrl(directoryUrl: string, accountUrl: string, email: string | null): Promise<void> {
    await this.db.update(acmeAccounts).set({ accountUrl, email }).where(eq(acmeAccounts.directoryUrl, directoryUrl));
  }
}

/** HTTP-01 key authorizations, read by the proxy at /.well-known/acme-challenge/<token>. */
export class PostgresChallengeResponses implements ChallengeResponses {
  constructor(private readonly db: Db) {}

  async publish(token: string, hostname: string, keyAuthorization: string, expiresAt: Date): Promise<void> {
    await this.db
      .insert(acmeChallenges)
      .values({ token, hostname, keyAuthorization, expiresAt })
      .onConflictDoUpdate({ target: acmeChallenges.token, set: { hostname, keyAuthorization, expiresAt } });
  }

  async withdraw(token: string): Promise<void> {
    await this.db.delete(acmeChallenges).where(eq(acmeChallenges.token, token));
  }

  /** The key authorization for `token` when it was published for `hostname` and has not expired. */
  async answer(token: string, hostname: string): Promise<string | null> {
    const [row] = await this.db
      .select({ hostname: acmeChallenges.hostname, keyAuthorization: acmeChallenges.keyAuthorization })
      .from(acmeChallenges)
      .where(sql`${acmeChallenges.token} = ${token} and ${acmeChallenges.expiresAt} > now()`);
    return row && row.hostname === hostname ? row.keyAuthorization : null;
  }

  /** Removes answers past their expiry (orders abandoned by a crash). */
  async sweepExpired(): Promise<number> {
    const removed = await this.db
      .delete(acmeChallenges)
      .where(lt(acmeChallenges.expiresAt, sql`now()`))
      .returning({ token: acmeChallenges.token });
    return removed.length;
  }
}
