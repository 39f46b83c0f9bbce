import { sql } from 'drizzle-orm';
import { boolean, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { environments } from './apps.ts';
import { createdAt, id, updatedAt } from './columns.ts';

export const certificateState = pgEnum('certificate_state', ['pending', 'issued', 'failed']);

/** Custom domains of an environment (generated hostnames are not stored). */
export const domains = pgTable('domains', {
  id: id(),
  environmentId: uuid('environment_id')
    .notNull()
    .references(() => environments.id, { onDelete: 'cascade' }),
  hostname: text('hostname').notNull().unique(),
  redirectHttps: boolean('redirect_https').notNull().default(true),
  createdAt: createdAt(),
});

export const certificates = pgTable('certificates', {
  id: id(),
  hostname: text('hostname').notNull().unique(),
  state: certificateState('state').notNull().default('pending'),
  certificatePem: text('certificate_pem'),
  privateKeyCiphertext: text('private_key_ciphertext'),
  keyId: text('key_id'),
  notBefore: timestamp('not_before', { withTimezone: true }),
  notAfter: timestamp('not_after', { withTimezone: true }),
  lastError: text('last_error'),
  /** The pending order, resumed after a crash instead of placing a new one. */
  orderUrl: text('order_url'),
  /** When the next order may start: renewal time (two thirds of the lifetime, with jitter) or the end of a backoff. */
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  /** Failed authorizations, newest last (at most 5 per hour are attempted). */
  failureTimes: timestamp('failure_times', { withTimezone: true }).array().notNull().default(sql`'{}'::timestamptz[]`),
  /** A worker working on this certificate holds it until then. */
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** The ACME account per directory URL; its key is created once and kept sealed. */
export const acmeAccounts = pgTable('acme_accounts', {
  id: id(),
  directoryUrl: text('directory_url').notNull().unique(),
  email: text('email'),
  accountUrl: text('account_url'),
  keyCiphertext: text('key_ciphertext').notNull(),
  keyId: text('key_id').notNull(),
  createdAt: createdAt(),
});

/** HTTP-01 answers the proxy serves at /.well-known/acme-challenge/<token>. */
export const acmeChallenges = pgTable('acme_challenges', {
  token: text('token').primaryKey(),
  hostname: text('hostname').notNull(),
  keyAuthorization: text('key_authorization').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
