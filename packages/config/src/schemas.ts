import { z } from 'zod';
import {
  bearerSecret,
  hostname,
  imageName,
  listenHost,
  logFormat,
  logLevel,
  port,
  postgresUrl,
  previousSecretKeys,
  redisUrl,
  secretKey,
} from './fields.ts';

/** Settings every Pier process needs. */
const common = {
  /** Pier's own state: apps, deployments, encrypted variables. The truth. */
  DATABASE_URL: postgresUrl,
  /** BullMQ queues and short-lived coordination; losing it loses nothing (Postgres re-enqueues). */
  REDIS_URL: redisUrl,
  /** Encrypts variables, credentials and private keys at rest (AES-256-GCM). */
  PIER_SECRET_KEY: secretKey,
  /** Older secret keys, comma-separated, kept readable while values are re-sealed with the new one. */
  PIER_SECRET_KEYS_PREVIOUS: previousSecretKeys,
  /** Apps are served at <app>.<base domain> and <app>-<env>.<base domain>. */
  PIER_BASE_DOMAIN: hostname,
  /** pino level. */
  PIER_LOG_LEVEL: logLevel,
  /** `auto` prints pretty lines on a terminal and JSON otherwise. */
  PIER_LOG_FORMAT: logFormat,
};

export const apiConfigSchema = z.object({
  ...common,
  /** Interface the REST API listens on; loopback by default, publish it through the proxy or a tunnel. */
  PIER_API_HOST: listenHost.default('127.0.0.1'),
  /** Port of the REST API and the GitHub webhook endpoint. */
  PIER_API_PORT: port(4000),
  /** Bootstrap admin token: the first credential, used to create scoped API tokens. */
  PIER_ADMIN_TOKEN: bearerSecret,
});

export const workerConfigSchema = z.object({
  ...common,
  /** Base image of generated Node.js Dockerfiles. */
  PIER_IMAGE_NODE: imageName('node:20-bookworm-slim'),
  /** Base image of generated Python Dockerfiles. */
  PIER_IMAGE_PYTHON: imageName('python:3.11-slim-bookworm'),
  /** Image of managed Postgres services. */
  PIER_IMAGE_POSTGRES: imageName('postgres:15-bookworm'),
  /** Image of managed Redis services. */
  PIER_IMAGE_REDIS: imageName('redis:7-bookworm'),
});

export const proxyConfigSchema = z.object({
  ...common,
  /** Plain HTTP listener: ACME challenges, redirects to HTTPS. */
  PIER_HTTP_PORT: port(80),
  /** HTTPS listener for every app and custom domain. */
  PIER_HTTPS_PORT: port(443),
  /** Loopback-only port of the proxy's own /health and /metrics. */
  PIER_PROXY_ADMIN_PORT: port(9090),
});

export type ApiConfig = z.output<typeof apiConfigSchema>;
export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type ProxyConfig = z.output<typeof proxyConfigSchema>;

export const migrateConfigSchema = z.object({
  DATABASE_URL: common.DATABASE_URL,
  PIER_LOG_LEVEL: common.PIER_LOG_LEVEL,
  PIER_LOG_FORMAT: common.PIER_LOG_FORMAT,
});
export type MigrateConfig = z.output<typeof migrateConfigSchema>;
