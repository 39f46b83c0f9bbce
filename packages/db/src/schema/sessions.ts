import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { apiTokens, apps } from './apps.ts';
import { createdAt, id } from './columns.ts';

/**
 * Dashboard sessions: an API token exchanged for a cookie. Only a hash of the
 * cookie's secret is kept. A session made from an API token ends with it
 * (revoked or deleted); one made from PIER_ADMIN_TOKEN keeps a fingerprint
 * of that token and ends when the token is changed.
 */
export const dashboardSessions = pgTable(
  'dashboard_sessions',
  {
    id: id(),
    secretHash: text('secret_hash').notNull().unique(),
    tokenId: uuid('token_id').references(() => apiTokens.id, { onDelete: 'cascade' }),
    appId: uuid('app_id').references(() => apps.id, { onDelete: 'cascade' }),
    adminFingerprint: text('admin_fingerprint'),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('dashboard_sessions_expires_at_idx').on(t.expiresAt)],
);
