import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { ChannelSettings, NotificationMessage } from '@pier/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendToChannel } from '../../apps/worker/src/notifications/channel-senders.ts';

/**
 * Each send's limit is the whole exchange's, not each step's: an SMTP
 * server that answers every command just before the per-step timeouts, and
 * a webhook receiver that answers 200 and then drips its body, both on
 * loopback, are given up at the limit; and the notifier's stop ends a send
 * at once.
 */

const STEP_MS = 250;
const LIMIT_MS = 1000;
const message: NotificationMessage = {
  kind: 'test',
  severity: 'info',
  app: 'shop',
  env: null,
  message: 'a test message',
  at: new Date().toISOString(),
};

let smtp: ReturnType<typeof createNetServer>;
let drip: Server;
const sockets = new Set<Socket>();
let smtpPort = 0;
let dripPort = 0;

function listen(server: { listen: (port: number, host: string, cb: () => void) => unknown; address: () => unknown }) {
  return new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

beforeAll(async () => {
  // Answers every command after STEP_MS: under each of nodemailer's per-step timeouts, never done within LIMIT_MS.
  smtp = createNetServer((socket) => {
    sockets.add(socket);
    const later = (line: string) => setTimeout(() => socket.writable && socket.write(`${line}\r\n`), STEP_MS);
    let data = false;
    let buffer = '';
    later('220 slow.test ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (let at = buffer.indexOf('\r\n'); at >= 0; at = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (data) {
          if (line === '.') {
            data = false;
            later('250 queued');
          }
        } else if (/^DATA/i.test(line)) {
          data = true;
          later('354 go ahead');
        } else if (/^QUIT/i.test(line)) later('221 bye');
        else later('250 ok');
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  // Answers 200 at once, then a byte every STEP_MS, never ending.
  drip = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('.'), STEP_MS);
    res.on('close', () => clearInterval(timer));
  });
  [smtpPort, dripPort] = await Promise.all([listen(smtp), listen(drip)]);
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  drip.closeAllConnections();
  await Promise.all([new Promise((r) => smtp.close(r)), new Promise((r) => drip.close(r))]);
});

async function timed(work: Promise<void>): Promise<{ error: string; ms: number }> {
  const start = Date.now();
  const error = await work.then(
    () => 'sent',
    (err: Error) => err.message,
  );
  return { error, ms: Date.now() - start };
}

describe('a send is given up at its overall limit', () => {
  it('an SMTP server answering each command just in time', async () => {
    const port = smtpPort;
    const settings: ChannelSettings = {
      kind: 'email',
      host: '127.0.0.1',
      port,
      tls: 'none',
      from: 'pier@example.com',
      to: ['ops@example.com'],
      allowLoopback: true,
    };
    const { error, ms } = await timed(sendToChannel(settings, 1, message, { reservedPorts: [], timeoutMs: LIMIT_MS }));
    expect(error).toBe(`no answer within ${LIMIT_MS} ms`);
    expect(ms).toBeGreaterThanOrEqual(LIMIT_MS - 50);
    expect(ms).toBeLessThan(LIMIT_MS + 700);
  });

  it('a webhook receiver that drips its answer', async () => {
    const port = dripPort;
    const settings: ChannelSettings = {
      kind: 'webhook',
      url: `http://127.0.0.1:${port}/hook`,
      secret: 's'.repeat(20),
      allowLoopback: true,
    };
    const { error, ms } = await timed(sendToChannel(settings, 2, message, { reservedPorts: [], timeoutMs: LIMIT_MS }));
    expect(error).toBe(`no answer within ${LIMIT_MS} ms`);
    expect(ms).toBeLessThan(LIMIT_MS + 700);
  });

  it('the notifier stopping ends a send at once', async () => {
    const port = smtpPort;
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const settings: ChannelSettings = {
      kind: 'email',
      host: '127.0.0.1',
      port,
      tls: 'none',
      from: 'pier@example.com',
      to: ['ops@example.com'],
      allowLoopback: true,
    };
    const { error, ms } = await timed(
      sendToChannel(settings, 3, message, { reservedPorts: [], timeoutMs: 10_000, signal: stop.signal }),
    );
    expect(error).toBe('the notifier stopped before the receiver accepted the message');
    expect(ms).toBeLessThan(1500);
  });
});
