import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signPayload } from '@pier/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_LARGE_READS } from '../../apps/api/src/routes/webhooks.ts';
import { createTestApi, type TestApi } from '../support/api.ts';
import { expectError, snapshotState } from '../support/api-state.ts';
import { pushPayload } from '../support/webhooks.ts';
import { type CreatedApp, createApp, fakeSha, rowCounts, sendRawWebhook, uniqueAppName } from './webhook-fixtures.ts';

/**
 * What the webhook does with bodies it cannot use: over 25 MB (413, without
 * reading it all), over 1 MiB from a hook target that never delivered a
 * verified webhook (413 after at most about 1 MiB), not JSON (400/422), not
 * JSON at all (415). Each answer has the one error shape and nothing is written.
 */

const MB = 1024 * 1024;
const LIMIT = 25 * MB;

let api: TestApi;
let app: CreatedApp;
let port: number;
const REPO = 'acme-limits/big';

beforeAll(async () => {
  api = await createTestApi();
  app = await createApp(api, uniqueAppName('limits'), { fullName: REPO, cloneUrl: 'file:///srv/git/big.git' });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  port = (api.app.server.address() as AddressInfo).port;
});
afterAll(async () => api?.close());

interface RawAnswer {
  status: number;
  body: string;
  /** Bytes of the request body written before the answer came. */
  written: number;
  ms: number;
}

/**
 * POSTs to the webhook over real HTTP, writing `total` bytes in 64 KiB chunks
 * (or only `sendBytes` of them), and stops writing as soon as an answer comes.
 */
function postStreaming(options: {
  total: number;
  sendBytes?: number;
  contentLength: boolean;
  target?: string;
}): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
    };
    if (options.contentLength) headers['content-length'] = options.total;
    if (options.target) headers['x-github-hook-installation-target-id'] = options.target;
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/webhooks/github', headers }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, written, ms: performance.now() - started });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const stopAt = options.sendBytes ?? options.total;
    const pump = () => {
      while (!answered && written < stopAt) {
        const piece = chunk.subarray(0, Math.min(chunk.length, stopAt - written));
        written += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!answered && written >= options.total) req.end();
    };
    pump();
  });
}

describe('a body over 25 MB', () => {
  it('is refused with 413 from its Content-Length, before the body is sent', async () => {
    const before = await rowCounts(api);
    // Announce 26 MB, send 64 KiB, and wait: the answer must not need the rest.
    const answer = await postStreaming({ total: 26 * MB, sendBytes: 64 * 1024, contentLength: true });
    expect(answer.status, answer.body).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
    expect(answer.written).toBe(64 * 1024);
    expect(answer.ms).toBeLessThan(5000);
    expect(await rowCounts(api)).toEqual(before);
  });

  it('is refused with 413 when it arrives chunked, once the unsigned limit is passed', async () => {
    const before = await rowCounts(api);
    const answer = await postStreaming({ total: 26 * MB, contentLength: false });
    expect(answer.status, answer.body).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
    // Socket buffers hold a few MB; the api itself read little more than 1 MiB.
    expect(answer.written).toBeLessThan(8 * MB);
    expect(await rowCounts(api)).toEqual(before);
  });

  it('is refused with 413 even when it is validly signed', async () => {
    const body = Buffer.alloc(LIMIT + 1, 0x20);
    body.write('{"a":1}');
    const before = await snapshotState(api.database.sql);
    const res = await sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, app.secret) });
    expectError(res, 413, 'payload_too_large');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});

/** A delivery as GitHub sends it, naming its hook target. */
function deliver(body: Buffer, signature: string, target: string | null, event = 'push') {
  return api.app.inject({
    method: 'POST',
    url: '/webhooks/github',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature,
      ...(target ? { 'x-github-hook-installation-target-id': target } : {}),
    },
    payload: body,
  });
}

function bigPush(seed: string): Buffer {
  const payload = pushPayload(REPO, 'refs/heads/main', fakeSha(seed));
  payload.commits = [{ ...payload.head_commit, message: 'x'.repeat(20 * MB) }];
  const body = Buffer.from(JSON.stringify(payload));
  expect(body.length).toBeGreaterThan(20 * MB);
  expect(body.length).toBeLessThan(LIMIT);
  return body;
}

describe('a body between 1 MiB and 25 MB', () => {
  const TARGET = '424242';

  it('is refused with 413 while its hook target has delivered no verified webhook', async () => {
    const body = bigPush('unknown-target');
    const before = await snapshotState(api.database.sql);
    for (const target of [null, TARGET, 'not-a-number']) {
      expectError(
        await deliver(body, signPayload(body, app.secret), target),
        413,
        'payload_too_large',
        'verified webhook before',
      );
    }
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });

  it('is refused from its Content-Length before it is sent, when the hook target is unknown', async () => {
    const answer = await postStreaming({ total: 5 * MB, sendBytes: 64 * 1024, contentLength: true });
    expect(answer.status, answer.body).toBe(413);
    expect(answer.written).toBe(64 * 1024);
  });

  it('is accepted far above the 2 MB limit of the other routes once the target delivered a verified webhook', async () => {
    // The header is not signed: a ping whose signed repository id is another does not make the target known.
    const other = Buffer.from(JSON.stringify({ zen: 'hi', hook_id: 1, repository: { id: 7, full_name: REPO } }));
    expect((await deliver(other, signPayload(other, app.secret), TARGET, 'ping')).statusCode).toBe(200);
    const early = bigPush('not-yet-known');
    expectError(await deliver(early, signPayload(early, app.secret), TARGET), 413, 'payload_too_large');
    const ping = Buffer.from(JSON.stringify({ zen: 'hi', hook_id: 1, repository: { id: Number(TARGET), full_name: REPO } }));
    expect((await deliver(ping, signPayload(ping, app.secret), TARGET, 'ping')).statusCode).toBe(200);
    const body = bigPush('known-target');
    const res = await deliver(body, signPayload(body, app.secret), TARGET);
    expect(res.statusCode, res.body.slice(0, 200)).toBe(202);
    expect(res.json().deployments).toHaveLength(1);
  });

  it('is refused with 401 from a known target when no secret signed it', async () => {
    const body = bigPush('forged');
    const before = await snapshotState(api.database.sql);
    expectError(await deliver(body, signPayload(body, 'not-the-secret'), TARGET), 401, 'unauthorized');
    expect(await snapshotState(api.database.sql)).toEqual(before);
  });
});

describe('a body that is not JSON', () => {
  it('is refused with the JSON error shape when validly signed, and writes nothing', async () => {
    for (const text of ['{"ref": "refs/heads/main",', 'not json', '{"a":1}}', '']) {
      const body = Buffer.from(text);
      const before = await snapshotState(api.database.sql);
      const res = await sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, app.secret) });
      expect([400, 422], `${JSON.stringify(text)}: ${res.body}`).toContain(res.statusCode);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.json()).toEqual({ error: { code: expect.any(String), message: expect.stringContaining('JSON') } });
      expect(await snapshotState(api.database.sql)).toEqual(before);
    }
  });

  it('is refused with 401 when it is JSON without a repository (no app, so no secret to check against)', async () => {
    for (const text of ['null', '[]', '"x"', '{}']) {
      const body = Buffer.from(text);
      expectError(
        await sendRawWebhook(api.app, { event: 'push', body, signature: signPayload(body, app.secret) }),
        401,
        'unauthorized',
      );
    }
  });

  it('is refused with 415 when sent form-encoded (the hook must use application/json)', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify(pushPayload(REPO, 'refs/heads/main', fakeSha('form'))))}`;
    const before = await rowCounts(api);
    const res = await sendRawWebhook(api.app, {
      event: 'push',
      body,
      signature: signPayload(body, app.secret),
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(res, 415, 'unsupported_media_type', 'application/json');
    expect(await rowCounts(api)).toEqual(before);
  });
});

describe('large bodies read at once', () => {
  it('are at most WEBHOOK_LARGE_READS: one more, even from a known target, gets 429 while they stream', async () => {
    // The target is known from the test above (the same app and api).
    const held = Array.from({ length: WEBHOOK_LARGE_READS }, () => openLargeDelivery('424242'));
    try {
      await Promise.all(held.map((h) => h.started));
      const extra = await postStreaming({ total: 5 * MB, sendBytes: 2 * MB, contentLength: true, target: '424242' });
      expect(extra.status, extra.body).toBe(429);
      expect(JSON.parse(extra.body).error).toEqual({
        code: 'rate_limited',
        message: expect.stringContaining('too many large webhook bodies'),
      });
    } finally {
      for (const h of held) h.close();
    }
  });
});

/** A delivery of 20 MB for a known target that sends 2 MiB and then holds its connection open. */
function openLargeDelivery(target: string): { started: Promise<void>; close(): void } {
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/webhooks/github',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      'x-github-hook-installation-target-id': target,
      'content-length': 20 * MB,
    },
  });
  req.on('error', () => {});
  const started = new Promise<void>((resolve) => req.write(Buffer.alloc(2 * MB, 0x20), () => setTimeout(resolve, 200)));
  return { started, close: () => req.destroy() };
}
