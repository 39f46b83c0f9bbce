/**
 * The edge's CDN figures: how many of a static asset's requests Pier's proxy
 * answers from its cache, and how many bytes compression saves, on a real
 * page set: the dashboard, built into a temp directory (index.html and every
 * file under assets/, without the precompressed copies the build adds).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type PierProcess, startPier } from './processes.ts';
import { fmt, HOST, type Settings, TSX_LOADER } from './shared.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** What a client's Accept-Encoding asks for, and the label it is printed under. */
const ENCODINGS: [string, string | undefined][] = [
  ['identity', undefined],
  ['gzip', 'gzip'],
  ['br', 'br'],
  ['br, gzip', 'br, gzip'],
];

interface Asset {
  path: string;
  body: Buffer;
  type: string;
  /** HTML must be revalidated (it names the hashed assets); the hashed assets may be kept an hour. */
  cacheControl: string;
}

function buildPageSet(dir: string): Asset[] {
  execFileSync(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'scripts/build-dashboard.ts'), dir], { stdio: 'inherit' });
  const files = ['index.html', ...readdirSync(join(dir, 'assets')).map((name) => `assets/${name}`)];
  return files
    .filter((file) => !file.endsWith('.br') && !file.endsWith('.gz'))
    .map((file) => ({
      path: `/${file}`,
      body: readFileSync(join(dir, file)),
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      cacheControl: file.endsWith('.html') ? 'no-cache' : 'public, max-age=3600',
    }));
}

/** Serves the page set as an app would, counting the requests that reach it per path. */
function servePageSet(assets: Asset[], hits: Map<string, number>): Promise<{ server: Server; port: number }> {
  const byPath = new Map(assets.map((asset) => [asset.path, asset]));
  const server = createServer((req, res) => {
    const asset = byPath.get(req.url ?? '');
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    if (!asset) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': asset.cacheControl });
    res.end(asset.body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    }),
  );
}

/** One GET through the proxy; the body as it came over the wire (not decoded). */
function fetchRaw(port: number, path: string, agent: Agent, acceptEncoding: string | undefined) {
  const headers: Record<string, string> = { host: HOST, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) };
  return new Promise<{ status: number; encoding: string; cacheStatus: string; body: Buffer }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          encoding: String(res.headers['content-encoding'] ?? 'identity'),
          cacheStatus: String(res.headers['cache-status'] ?? ''),
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decode(encoding: string, body: Buffer): Buffer {
  if (encoding === 'br') return brotliDecompressSync(body);
  if (encoding === 'gzip') return gunzipSync(body);
  return body;
}

/** `requests` GETs per asset: the share the edge served (upstream hits counted) and the Cache-Status hits it reported. */
async function edgeShare(pier: PierProcess, assets: Asset[], hits: Map<string, number>, requests: number, agent: Agent) {
  let sent = 0;
  let reported = 0;
  let failed = 0;
  for (const asset of assets) {
    for (let i = 0; i < requests; i++) {
      const answer = await fetchRaw(pier.port, asset.path, agent, 'br, gzip');
      sent++;
      if (answer.status !== 200) failed++;
      if (/;\s*hit\b/.test(answer.cacheStatus)) reported++;
    }
  }
  const reached = assets.reduce((sum, asset) => sum + (hits.get(asset.path) ?? 0), 0);
  return { sent, reached, reported, failed };
}

/** Each asset once per Accept-Encoding: bytes on the wire against the identity bytes, every body checked once decoded. */
async function compressionSavings(pier: PierProcess, assets: Asset[], agent: Agent) {
  const identityBytes = assets.reduce((sum, asset) => sum + asset.body.length, 0);
  const rows: string[] = [];
  for (const [label, acceptEncoding] of ENCODINGS) {
    let wire = 0;
    let encoded = 0;
    let corrupt = 0;
    for (const asset of assets) {
      const answer = await fetchRaw(pier.port, asset.path, agent, acceptEncoding);
      wire += answer.body.length;
      if (answer.encoding !== 'identity') encoded++;
      if (answer.status !== 200 || !decode(answer.encoding, answer.body).equals(asset.body)) corrupt++;
    }
    rows.push(
      `  ${label.padEnd(10)} ${String(wire).padStart(9)} B of ${identityBytes} B   saved ${fmt((1 - wire / identityBytes) * 100, 1).padStart(5)} %` +
        `   ${encoded}/${assets.length} responses encoded, ${corrupt} not 200 or not the original once decoded\n`,
    );
  }
  return rows.join('');
}

/** Prints the CDN figures: the edge's share of static asset requests, and bytes saved per encoding. */
export async function measureCdn(settings: Settings): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-bench-pages-'));
  const hits = new Map<string, number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let upstream: Server | undefined;
  let pier: PierProcess | undefined;
  try {
    const assets = buildPageSet(dir);
    const served = await servePageSet(assets, hits);
    upstream = served.server;
    pier = await startPier('undici', served.port, 1, '/index.html');
    hits.clear(); // the readiness check's request is not one of the measured ones
    const html = assets.filter((asset) => asset.path.endsWith('.html'));
    const statics = assets.filter((asset) => !asset.path.endsWith('.html'));
    const bytes = (list: Asset[]) => list.reduce((sum, asset) => sum + asset.body.length, 0);
    process.stdout.write(
      `\nCDN (pier, 1 process; the dashboard's build: ${html.length} HTML file of ${bytes(html)} B, no-cache; ` +
        `${statics.length} assets of ${bytes(statics)} B, public, max-age=3600):\n`,
    );
    const assetShare = await edgeShare(pier, statics, hits, settings.cdnRequests, agent);
    const htmlShare = await edgeShare(pier, html, hits, settings.cdnRequests, agent);
    for (const [label, s] of [
      ['assets', assetShare],
      ['HTML', htmlShare],
    ] as const) {
      process.stdout.write(
        `  ${label.padEnd(7)} ${s.sent} requests (${settings.cdnRequests} each, Accept-Encoding: br, gzip): ` +
          `${fmt((1 - s.reached / s.sent) * 100, 1)} % served from the edge (${s.reached} reached the app), ` +
          `Cache-Status hit on ${s.reported}, ${s.failed} not 200\n`,
      );
    }
    process.stdout.write('  bytes on the wire for the whole set, per Accept-Encoding:\n');
    process.stdout.write(await compressionSavings(pier, assets, agent));
  } finally {
    agent.destroy();
    await pier?.stop();
    upstream?.closeAllConnections();
    upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
