import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogLineRow, LogQuery } from '@pier/db';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { streamEnvironmentLogs } from './environment-log-stream.ts';

/** What a follower asks the store, with a store whose lines never match the filter. */

const apps: ReturnType<typeof Fastify>[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('streamEnvironmentLogs', () => {
  it('a filtered follow scans only the ids stored since its last poll, and nothing while none are', async () => {
    let newest = 5000;
    const reads: LogQuery[] = [];
    const logs = {
      maxId: async () => newest,
      read: async (query: LogQuery): Promise<LogLineRow[]> => {
        reads.push(query);
        return [];
      },
    };
    const app = Fastify();
    apps.push(app);
    app.get('/logs', async (req, reply) => {
      await streamEnvironmentLogs(logs, { environmentId: 'e', text: 'nothing', limit: 100, order: 'desc' }, req, reply);
      return reply;
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const req = request({ host: '127.0.0.1', port, path: '/logs' });
    req.end();
    await new Promise((resolve) => req.once('response', resolve));
    await new Promise((resolve) => setTimeout(resolve, 700)); // a few polls with nothing new: no scan
    expect(reads).toHaveLength(1); // the first answer (the newest matching) only
    newest = 5200;
    await expect.poll(() => reads.length, { timeout: 2000 }).toBe(2);
    expect(reads[1]).toMatchObject({ after: 5000, beforeId: 5201, order: 'asc' });
    newest = 5300;
    await expect.poll(() => reads.length, { timeout: 2000 }).toBe(3);
    expect(reads[2]).toMatchObject({ after: 5200, beforeId: 5301 });
    req.destroy();
  });
});
