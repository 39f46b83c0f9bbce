import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { type AppQuotas, type CapacityCheck, SecretBox } from '@pier/core';
import { ChangeFeed, createStores, pingDatabase, watchAppImagesRemoved } from '@pier/db';
import { createLogger } from '@pier/log';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../../apps/api/src/app.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { TEST_REDIS_URL } from './env.ts';

export interface TestApi {
  app: FastifyInstance;
  database: TestDatabase;
  box: SecretBox;
  adminToken: string;
  /** Every log line the API wrote, for checks that secrets never reach the logs. */
  logs: string[];
  /** `app.inject` with the admin token unless `token` is given (null: no header). */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** Redis URL for readiness; defaults to the test Redis. */
  redisUrl?: string;
  /** The SecretBox key (32 bytes), for a worker process that must read what this API seals; default random. */
  secretKey?: Buffer;
  /** Webhook deliveries a minute per source address; default the api's. */
  webhookRateLimitPerMinute?: number;
  /** Per-app caps; default the api's. */
  quotas?: AppQuotas;
  /** PIER_CONTROL_HOSTNAME. */
  controlHostname?: string;
  /** DELETE /apps/:app waits for a worker's report on the app's images, as the real api does; default: it answers 202 at once. */
  watchAppDeletions?: boolean;
  /** The capacity guard; default none (every scale-up fits). */
  capacity?: CapacityCheck;
  /** The CLI file GET /cli serves; default none (503). */
  cliBundlePath?: string;
  /** PIER_PUBLIC_IPS. */
  publicAddresses?: string[];
  /** The built dashboard served at `/`; default none (`/` says how to build it). */
  dashboardDir?: string;
  /** How long a dashboard session lasts; default the api's. */
  sessionTtlMs?: number;
  /** Sign-ins per minute from one address; default the api's (30). */
  signInRateLimitPerMinute?: number;
  /** How often open streams check their credential again; default the api's (30 s). */
  streamRecheckMs?: number;
}

/** Quotas out of the way, for tests of other things that make many environments in one app. */
export const ROOMY_QUOTAS: AppQuotas = {
  environments: 1000,
  previews: 1000,
  forkPreviews: 1000,
  replicas: 10_000,
  domains: 1000,
};

/** The real API on a private database, real Redis, logs captured in memory. */
export async function createTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const box = new SecretBox(options.secretKey ?? randomBytes(32));
  const adminToken = randomBytes(32).toString('hex');
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ name: 'api', level: 'debug', format: 'json', destination });
  const redis = new Redis(options.redisUrl ?? TEST_REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  await redis.connect().catch(() => {});
  const app = buildApp({
    logger,
    adminToken,
    baseDomain: 'pier.test',
    serviceImages: { postgres: 'pier-local/postgres:latest', redis: 'pier-local/redis:latest' },
    ...(options.webhookRateLimitPerMinute ? { webhookRateLimitPerMinute: options.webhookRateLimitPerMinute } : {}),
    ...(options.quotas ? { quotas: options.quotas } : {}),
    ...(options.capacity ? { capacity: options.capacity } : {}),
    ...(options.controlHostname ? { controlHostname: options.controlHostname } : {}),
    ...(options.cliBundlePath ? { cliBundlePath: options.cliBundlePath } : {}),
    ...(options.publicAddresses ? { publicAddresses: options.publicAddresses } : {}),
    ...(options.dashboardDir ? { dashboardDir: options.dashboardDir } : {}),
    ...(options.sessionTtlMs ? { sessionTtlMs: options.sessionTtlMs } : {}),
    ...(options.signInRateLimitPerMinute ? { signInRateLimitPerMinute: options.signInRateLimitPerMinute } : {}),
    ...(options.streamRecheckMs ? { streamRecheckMs: options.streamRecheckMs } : {}),
    changes: new ChangeFeed(database.sql),
    ...createStores(database.db, box),
    ...(options.watchAppDeletions ? { appDeletions: (name: string) => watchAppImagesRemoved(database.sql, name) } : {}),
    readiness: {
      postgres: () => pingDatabase(database.sql),
      redis: async () => {
        await redis.ping();
      },
    },
  });
  await app.ready();
  return {
    app,
    database,
    box,
    adminToken,
    logs,
    request: ({ token, ...rest }) => {
      const headers = { ...(rest.headers ?? {}) } as Record<string, string>;
      const bearer = token === undefined ? adminToken : token;
      if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
      return app.inject({ ...rest, headers });
    },
    close: async () => {
      await app.close();
      redis.disconnect();
      await database.destroy();
    },
  };
}
