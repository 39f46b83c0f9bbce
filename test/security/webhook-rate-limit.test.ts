import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../support/api.ts';

/**
 * Webhook intake is rate-limited per source address before any body is read.
 * Behind Pier's proxy (a loopback peer) the source is the X-Forwarded-For it
 * sets; any other peer's forwarding headers are not believed.
 */

const PER_MINUTE = 5;
let api: TestApi;
let url: string;

beforeAll(async () => {
  api = await createTestApi({ webhookRateLimitPerMinute: PER_MINUTE });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}/webhooks/github`;
});
afterAll(async () => api?.close());

/** A forged delivery (wrong signature) from `source` as Pier's proxy would forward it. */
async function forged(source: string) {
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      'x-forwarded-for': source,
    },
    body: JSON.stringify({ repository: { full_name: 'nobody/nothing' } }),
  });
  return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: (await res.body.json()) as any };
}

describe('webhook rate limit', () => {
  it('answers 429 with Retry-After past the limit of one source, and leaves other sources alone', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PER_MINUTE; i++) statuses.push((await forged('203.0.113.9')).status);
    expect(statuses).toEqual(Array(PER_MINUTE).fill(401));
    const limited = await forged('203.0.113.9');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('203.0.113.9') } });
    expect((await forged('198.51.100.20')).status).toBe(401);
  });

  it('refuses a delivery without a signature before reading its body', async () => {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID() },
      body: '{}',
    });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as any).error.message).toContain('x-hub-signature-256');
  });
});
