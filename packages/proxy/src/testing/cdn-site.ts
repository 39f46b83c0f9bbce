import type { OutgoingHttpHeaders } from 'node:http';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Route } from '@pier/core';
import { EdgeCache, type EdgeCacheOptions } from '../edge-cache.ts';
import { EdgeCdn } from '../edge-cdn.ts';
import { UndiciForwarder } from '../undici-forwarder.ts';
import { startEdge, startUpstream, type TestEdge, type TestServer } from './servers.ts';

/** Test helpers for the CDN role: an upstream site of pages that counts its hits, an edge with a cache, raw fetches. */
export const HOST = 'web.pier.test';
export const HTML = Buffer.from('<!doctype html><p>Pier serves this page, compressed when it may be.</p>\n'.repeat(100));

const started: TestServer[] = [];

/** Closes it after the test (`closeStarted` in afterEach). */
export function track<T extends TestServer>(server: T): T {
  started.push(server);
  return server;
}

export async function closeStarted(): Promise<void> {
  await Promise.all(started.splice(0).map((s) => s.close()));
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request on a fresh connection; the body as bytes, as sent. */
export function fetchRaw(port: number, path: string, headers: OutgoingHttpHeaders = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers: { host: HOST, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function decoded(answer: Answer): Buffer {
  const coding = answer.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(answer.body);
  if (coding === 'gzip') return gunzipSync(answer.body);
  return answer.body;
}

export type Page = { status?: number; headers: Record<string, string | string[]>; body: Buffer | string; chunked?: boolean };

/**
 * An upstream serving `pages` by path (query ignored) and counting requests
 * per path; `hits` counts them. Chunked pages are written in 16 KiB parts.
 */
export async function startSite(pages: Record<string, Page>) {
  const hits = new Map<string, number>();
  const upstream = await startUpstream((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const page = pages[path];
    if (!page) return void res.writeHead(404).end();
    const body = Buffer.from(page.body);
    if (page.chunked) {
      res.writeHead(page.status ?? 200, page.headers);
      for (let at = 0; at < body.length; at += 16_384) res.write(body.subarray(at, at + 16_384));
      return void res.end();
    }
    res.writeHead(page.status ?? 200, { 'content-length': String(body.length), ...page.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  track(upstream);
  return { upstream, hits: (path: string) => hits.get(path) ?? 0 };
}

export function routeTo(upstream: TestServer, releaseId = 'r1'): Route {
  return {
    app: 'web',
    env: 'production',
    environmentId: 'env-web',
    hostnames: [HOST],
    upstreams: [{ ...upstream.upstream('web-1'), releaseId }],
  };
}

export async function edgeFor(
  upstream: TestServer,
  cache: Partial<EdgeCacheOptions> | null = {},
): Promise<TestEdge & { cache: EdgeCache | null }> {
  const store =
    cache === null ? null : new EdgeCache({ maxBytesPerApp: 1e6, maxBytesTotal: 1e7, maxEntryBytes: 64 * 1024, ...cache });
  const edge = await startEdge({
    forwarder: new UndiciForwarder(),
    routes: [routeTo(upstream)],
    cdn: new EdgeCdn({ compression: true, cache: store }),
  });
  track(edge);
  return { ...edge, cache: store };
}
