/**
 * Pier's Postgres schema, one file per concept; drizzle-kit generates
 * `migrations/` from what this module exports (`npm run db:generate`).
 */
export * from './schema/apps.ts';
export * from './schema/deployments.ts';
export * from './schema/https.ts';
export * from './schema/observability.ts';
export * from './schema/processes.ts';
export * from './schema/services.ts';
export * from './schema/sessions.ts';
