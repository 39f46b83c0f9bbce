import { generateSessionSecret, hashSessionSecret } from '@pier/core';
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { apiTokens, dashboardSessions } from '../schema.ts';

export interface NewSession {
  /** The API token it was made from; null for PIER_ADMIN_TOKEN. */
  tokenId: string | null;
  /** The one app an app token's session sees; null for admin. */
  appId: string | null;
  /** For PIER_ADMIN_TOKEN: its fingerprint (the session ends when the token changes). */
  adminFingerprint: string | null;
  expiresAt: Date;
}

export interface SessionRow {
  id: string;
  tokenId: string | null;
  appId: string | null;
  adminFingerprint: string | null;
  expiresAt: Date;
}

/** How long `lastSeenAt` may lag: a session in use writes at most this often. */
const SEEN_RESOLUTION_MS = 60_000;

/** Dashboard sessions; the secret (the cookie's value) is returned once by `create`, only its hash is kept. */
export class SessionStore {
  constructor(private readonly db: Db) {}

  async create(session: NewSession): Promise<{ secret: string; row: SessionRow }> {
    const secret = generateSessionSecret();
    const [row] = await this.db
      .insert(dashboardSessions)
      .values({ ...session, secretHash: hashSessionSecret(secret) })
      .returning();
    if (!row) throw new Error('insert returned no row');
    // Expired and long-revoked sessions are swept as new ones are made: the table stays small.
    await this.db
      .delete(dashboardSessions)
      .where(or(lt(dashboardSessions.expiresAt, new Date()), lt(dashboardSessions.revokedAt, sql`now() - interval '1 day'`)));
    return { secret, row: view(row) };
  }

  /** The live session with this secret: not revoked, not expired, and its API token (if any) not revoked. */
  async resolve(secret: string): Promise<SessionRow | null> {
    const now = new Date();
    const [found] = await this.db
      .select({ session: dashboardSessions, tokenRevokedAt: apiTokens.revokedAt, seen: dashboardSessions.lastSeenAt })
      .from(dashboardSessions)
      .leftJoin(apiTokens, eq(apiTokens.id, dashboardSessions.tokenId))
      .where(
        and(
          eq(dashboardSessions.secretHash, hashSessionSecret(secret)),
          isNull(dashboardSessions.revokedAt),
          gt(dashboardSessions.expiresAt, now),
        ),
      );
    if (!found || found.tokenRevokedAt !== null) return null;
    if (now.getTime() - found.seen.getTime() > SEEN_RESOLUTION_MS) {
      await this.db.update(dashboardSessions).set({ lastSeenAt: now }).where(eq(dashboardSessions.id, found.session.id));
    }
    return view(found.session);
  }

  /** Ends the session with this secret (sign out); false when there was none live. */
  async revoke(secret: string): Promise<boolean> {
    const rows = await this.db
      .update(dashboardSessions)
      .set({ revokedAt: new Date() })
      .where(and(eq(dashboardSessions.secretHash, hashSessionSecret(secret)), isNull(dashboardSessions.revokedAt)))
      .returning({ id: dashboardSessions.id });
    return rows.length > 0;
  }
}

function view(row: typeof dashboardSessions.$inferSelect): SessionRow {
  return {
    id: row.id,
    tokenId: row.tokenId,
    appId: row.appId,
    adminFingerprint: row.adminFingerprint,
    expiresAt: row.expiresAt,
  };
}
