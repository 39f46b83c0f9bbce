import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * Field parsers shared by the per-process schemas. Each one turns a raw
 * environment string into a typed value or fails with a message that says
 * what a good value looks like, never echoing the value (it may be a secret).
 */

export const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a TCP port number' })
    .int('must be a whole number')
    .min(1, 'must be between 1 and 65535')
    .max(65535, 'must be between 1 and 65535')
    .default(fallback);

export const postgresUrl = z
  .string({ error: 'required, e.g. postgres://pier:password@127.0.0.1:5432/pier' })
  .refine(isUrlWithProtocol(['postgres:', 'postgresql:']), 'must be a postgres:// URL');

export const redisUrl = z
  .string({ error: 'required, e.g. redis://127.0.0.1:6379/0' })
  .refine(isUrlWithProtocol(['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL');

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const hostname = z
  .string({ error: 'required, e.g. apps.example.com' })
  .transform((value) => value.trim().toLowerCase().replace(/\.$/, ''))
  .refine((value) => HOSTNAME.test(value), 'must be a DNS name such as apps.example.com');

export const listenHost = z
  .string()
  .refine((value) => /^[0-9a-fA-F:.]+$/.test(value) || HOSTNAME.test(value), 'must be an IP address or host name');

export const imageName = (fallback: string) =>
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'must be a Docker image reference such as node:20-bookworm-slim')
    .default(fallback);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

export const logFormat = z.enum(['auto', 'json', 'pretty']).default('auto');

/** 32 random bytes, base64 (standard or url-safe alphabet). */
export const secretKey = z
  .string({ error: 'required: 32 random bytes, base64; generate with `openssl rand -base64 32`' })
  .transform((value, ctx) => {
    const problem = secretKeyProblem(value);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return decodeBase64(value.trim());
  });

/** Earlier values of PIER_SECRET_KEY, comma-separated, still accepted for reading. */
export const previousSecretKeys = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const keys: Buffer[] = [];
    for (const [index, part] of value
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .entries()) {
      const problem = secretKeyProblem(part);
      if (problem) ctx.addIssue({ code: 'custom', message: `key #${index + 1} ${problem}` });
      else keys.push(decodeBase64(part));
    }
    return keys;
  });

export const bearerSecret = z
  .string({ error: 'required: a random string of at least 32 characters; generate with `openssl rand -hex 32`' })
  .superRefine((value, ctx) => {
    const problem =
      value.length < 32
        ? 'must be at least 32 characters; generate with `openssl rand -hex 32`'
        : new Set(value).size < 10
          ? 'is too repetitive to be a secret; generate with `openssl rand -hex 32`'
          : /\s/.test(value)
            ? 'must not contain white space'
            : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const durationMs = (fallback: number) =>
  z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).default(fallback);

function isUrlWithProtocol(protocols: string[]) {
  return (value: string) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  };
}

function decodeBase64(value: string): Buffer {
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function secretKeyProblem(raw: string): string | undefined {
  const value = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return 'must be base64; generate with `openssl rand -base64 32`';
  const bytes = decodeBase64(value);
  if (bytes.length !== 32) {
    return `must decode to exactly 32 bytes (it decodes to ${bytes.length}); generate with \`openssl rand -base64 32\``;
  }
  if (new Set(bytes).size < 16)
    return 'is too weak (too few distinct bytes to be random); generate with `openssl rand -base64 32`';
  return undefined;
}

export const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .default(fallback);

/**
 * A count of processes: a whole number from 1 to 64, or `auto` (the default):
 * one per CPU this process may use.
 */
export const processCount = z
  .string()
  .default('auto')
  .transform((value, ctx) => {
    if (value.trim() === 'auto') return Math.min(64, availableParallelism());
    const count = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || count < 1 || count > 64) {
      ctx.addIssue({ code: 'custom', message: 'must be a whole number from 1 to 64, or auto' });
      return z.NEVER;
    }
    return count;
  });

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .transform((value) => ['true', '1', 'yes'].includes(value))
    .default(fallback);

/** A comma-separated list of IP addresses (v4 or v6), e.g. the public addresses of a host behind NAT. */
export const ipList = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const addresses = value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
    for (const address of addresses) {
      if (!isIP(address)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(address)} is not an IP address` });
    }
    return addresses.map((address) => address.toLowerCase());
  });

/** `host:port` (an IPv6 host in brackets), as an upstream address. */
export const hostPort = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
      const port = Number(match?.[2]);
      if (!match?.[1] || !(port >= 1 && port <= 65535)) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port, e.g. 127.0.0.1:4000' });
        return z.NEVER;
      }
      return { host: match[1].replace(/^\[|\]$/g, ''), port };
    });
