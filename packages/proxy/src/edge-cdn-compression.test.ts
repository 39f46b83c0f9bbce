import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { closeStarted, decoded, edgeFor, fetchRaw, HOST, HTML, startSite, track } from './testing/cdn-site.ts';
import { startUpstream } from './testing/servers.ts';

afterEach(closeStarted);

describe('EdgeCdn compression', () => {
  it('negotiates br, gzip or nothing, and the body decodes to the original', async () => {
    const site = await startSite({ '/': { headers: { 'content-type': 'text/html; charset=utf-8', etag: '"v1"' }, body: HTML } });
    const edge = await edgeFor(site.upstream, null);
    const cases: [string | undefined, string | undefined][] = [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
      ['br;q=0, gzip;q=0', undefined],
      ['identity', undefined],
      [undefined, undefined],
    ];
    for (const [accept, coding] of cases) {
      const answer = await fetchRaw(edge.port, '/', accept === undefined ? {} : { 'accept-encoding': accept });
      expect(answer.headers['content-encoding'], String(accept)).toBe(coding);
      expect(answer.headers.vary).toBe('Accept-Encoding');
      expect(decoded(answer).equals(HTML)).toBe(true);
      if (coding) {
        expect(answer.headers['content-length']).toBeUndefined();
        expect(answer.body.length).toBeLessThan(HTML.length / 5);
        expect(answer.headers.etag).toBe('W/"v1"');
      } else {
        expect(answer.headers['content-length']).toBe(String(HTML.length));
        expect(answer.headers.etag).toBe('"v1"');
      }
    }
  });

  it('leaves small bodies, images, encoded bodies, no-transform, event streams, 206 and HEAD untouched', async () => {
    const gzipped = gzipSync(HTML);
    const site = await startSite({
      '/small': { headers: { 'content-type': 'text/plain' }, body: 'hello, world!' },
      '/image': { headers: { 'content-type': 'image/png' }, body: Buffer.alloc(8_000, 7) },
      '/encoded': { headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' }, body: gzipped },
      '/no-transform': { headers: { 'content-type': 'text/html', 'cache-control': 'no-transform' }, body: HTML },
      '/events': { headers: { 'content-type': 'text/event-stream' }, body: HTML, chunked: true },
      '/partial': { status: 206, headers: { 'content-type': 'text/html', 'content-range': 'bytes 0-99/9000' }, body: HTML },
      '/': { headers: { 'content-type': 'text/html' }, body: HTML },
    });
    const edge = await edgeFor(site.upstream, null);
    const accept = { 'accept-encoding': 'br, gzip' };
    const small = await fetchRaw(edge.port, '/small', accept);
    expect([small.headers['content-encoding'], small.headers.vary, small.body.toString()]).toEqual([
      undefined,
      undefined,
      'hello, world!',
    ]);
    const image = await fetchRaw(edge.port, '/image', accept);
    expect([image.headers['content-encoding'], image.headers.vary, image.body.length]).toEqual([undefined, undefined, 8_000]);
    const encoded = await fetchRaw(edge.port, '/encoded', accept);
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(encoded.body.equals(gzipped)).toBe(true);
    const kept = await fetchRaw(edge.port, '/no-transform', accept);
    expect([kept.headers['content-encoding'], kept.body.length]).toEqual([undefined, HTML.length]);
    const events = await fetchRaw(edge.port, '/events', accept);
    expect([events.headers['content-encoding'], events.body.length]).toEqual([undefined, HTML.length]);
    const partial = await fetchRaw(edge.port, '/partial', accept);
    expect([partial.status, partial.headers['content-encoding']]).toEqual([206, undefined]);
    const head = await fetchRaw(edge.port, '/', accept, 'HEAD');
    expect([head.headers['content-encoding'], head.headers['content-length'], head.body.length]).toEqual([
      undefined,
      String(HTML.length),
      0,
    ]);
  });

  it('keeps existing Vary values and compresses a large streamed body of unknown length intact', async () => {
    const big = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} of a streamed page\n`).join(''));
    const site = await startSite({
      '/big': { headers: { 'content-type': 'application/json', vary: 'Origin' }, body: big, chunked: true },
    });
    const edge = await edgeFor(site.upstream, null);
    for (const coding of ['br', 'gzip']) {
      const answer = await fetchRaw(edge.port, '/big', { 'accept-encoding': coding });
      expect(answer.headers['content-encoding']).toBe(coding);
      expect(answer.headers.vary).toBe('Origin, Accept-Encoding');
      expect(decoded(answer).equals(big)).toBe(true);
    }
  });
});

describe('EdgeCdn compression backpressure', () => {
  it('pauses the upstream while a client reads slowly, and delivers the whole body once it reads', async () => {
    // Well above what loopback socket buffers hold (a few MB each way), so a stall shows as far less than all of it.
    const TOTAL = 48 * 1024 * 1024;
    const chunk = Buffer.from(randomBytes(48 * 1024).toString('base64')); // 64 KiB of text that compresses ~25 %
    let written = 0;
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const pump = (): void => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    track(upstream);
    const edge = await edgeFor(upstream, null);
    const received: Buffer[] = [];
    const done = new Promise<{ coding: unknown; body: Buffer }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: edge.port, path: '/', agent: false, headers: { host: HOST, 'accept-encoding': 'gzip' } },
        (res) => {
          res.pause();
          setTimeout(() => {
            stalledAt = written;
            res.on('data', (data: Buffer) => received.push(data));
            res.on('end', () => resolve({ coding: res.headers['content-encoding'], body: Buffer.concat(received) }));
            res.resume();
          }, 500);
        },
      );
      req.on('error', reject);
      req.end();
    });
    let stalledAt = 0;
    const { coding, body } = await done;
    expect(coding).toBe('gzip');
    expect(stalledAt).toBeLessThan(TOTAL / 2);
    expect(gunzipSync(body).length).toBe(Math.ceil(TOTAL / chunk.length) * chunk.length);
  });
});
