import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { outboundLookup } from '@pier/core';
import type { LogDrainRow, PendingLine, Stores } from '@pier/db';
import { createLogger } from '@pier/log';
import { afterEach, describe, expect, it } from 'vitest';
import { DrainForwarder } from './drain-forwarder.ts';
import { HttpsDrainSender } from './https-sender.ts';

/** Endpoints that answer 200 and then drip their body, or never answer, against a prompt one; all on loopback. */

const servers: Server[] = [];
const dripping: ServerResponse[] = [];
afterEach(async () => {
  for (const res of dripping.splice(0)) res.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function endpoint(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
}

const drip = (res: ServerResponse) => {
  dripping.push(res);
  res.writeHead(200);
  const timer = setInterval(() => res.write('.'), 50);
  res.on('close', () => clearInterval(timer));
};
const silent = (res: ServerResponse) => dripping.push(res);

const line: PendingLine = {
  id: 1,
  at: new Date(),
  appName: 'shop',
  envName: 'production',
  processType: 'web',
  replica: 'r',
  releaseVersion: null,
  stream: 'stdout',
  line: 'hello',
};

function sender(url: string, timeoutMs: number) {
  const parsed = new URL(url);
  return new HttpsDrainSender({
    host: parsed.hostname,
    port: Number(parsed.port),
    lookup: outboundLookup({ allowLoopback: true, port: Number(parsed.port), reservedPorts: [] }),
    timeoutMs,
    url: parsed,
    headers: {},
  });
}

describe('a slow drain endpoint', () => {
  it('an https POST ends within its timeout: a status answered counts, one never answered fails', async () => {
    const dripper = sender(await endpoint(drip), 500);
    const started = Date.now();
    await dripper.send([line]);
    expect(Date.now() - started).toBeLessThan(2000);
    dripper.close();
    const mute = sender(await endpoint(silent), 500);
    await expect(mute.send([line])).rejects.toThrow(/no answer within 500 ms/);
    mute.close();
  });

  it('holds only its own drain: another drain of the pass is forwarded meanwhile, and stop does not wait for it', async () => {
    const prompt: string[] = [];
    const urls = {
      slow: await endpoint(drip),
      fast: await endpoint((res) => res.writeHead(204).end()),
    };
    const drains = (['slow', 'fast'] as const).map(
      (name) => ({ id: name, name, appId: 'a', target: urls[name], configCiphertext: name }) as unknown as LogDrainRow,
    );
    const cursors = new Map<string, number>([
      ['slow', 0],
      ['fast', 0],
    ]);
    const stores = {
      leases: { acquire: async () => true, release: async () => {} },
      events: { record: async () => {} },
      logDrains: {
        all: async () => drains,
        config: (d: LogDrainRow) => ({ url: urls[d.id as 'slow' | 'fast'] }),
        skipAhead: async () => 0,
        failing: async () => false,
        pending: async (id: string) => ((cursors.get(id) ?? 0) < 3 ? [{ ...line, id: (cursors.get(id) ?? 0) + 1 }] : []),
        advance: async (id: string, cursor: number) => {
          cursors.set(id, cursor);
          if (id === 'fast') prompt.push(String(cursor));
        },
      },
    } as unknown as Pick<Stores, 'logDrains' | 'leases' | 'events'>;
    // The dripping endpoint answers 200 and never ends its body: without the POST's deadline each of its batches hangs.
    const forwarder = new DrainForwarder({
      stores,
      logger: createLogger({ name: 'worker', level: 'silent', format: 'json' }),
      reservedPorts: [],
      intervalMs: 50,
      timeoutMs: 20_000,
    });
    await forwarder.pass();
    const deadline = Date.now() + 5000;
    while (prompt.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(prompt).toEqual(['1', '2', '3']);
    expect(cursors.get('slow')).toBe(0);
    const stopping = Date.now();
    await forwarder.stop();
    expect(Date.now() - stopping).toBeLessThan(2000);
  });
});
