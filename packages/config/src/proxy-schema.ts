import { z } from 'zod';
import { booleanFlag, durationMs, hostPort, listenHost, port, positiveInt, postgresUrl, processCount } from './fields.ts';
import { common, proxyKey } from './schemas.ts';

/** The proxy holds neither PIER_SECRET_KEY nor the admin token. */
const { PIER_SECRET_KEY: _secretKey, PIER_SECRET_KEYS_PREVIOUS: _previous, ...proxyCommon } = common;

export const proxyConfigSchema = z.object({
  ...proxyCommon,
  ...proxyKey,
  /**
   * Pier's database as the proxy's own role, which may read only routes,
   * certificates and challenge answers (`npm run migrate` grants exactly
   * that); DATABASE_URL when unset.
   */
  PIER_PROXY_DATABASE_URL: postgresUrl.optional(),
  /** Where the api listens (PIER_API_HOST:PIER_API_PORT), for PIER_CONTROL_HOSTNAME's route. */
  PIER_CONTROL_UPSTREAM: hostPort('127.0.0.1:4000'),
  /** Plain HTTP listener: ACME challenges, redirects to HTTPS. */
  PIER_HTTP_PORT: port(80),
  /** HTTPS listener for every app and custom domain. */
  PIER_HTTPS_PORT: port(443),
  /**
   * The HTTPS port clients reach, for redirects from HTTP: set it when a
   * firewall or NAT forwards 443 to another PIER_HTTPS_PORT. Default: PIER_HTTPS_PORT.
   */
  PIER_PUBLIC_HTTPS_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a port number')
    .min(1, 'must be 1-65535')
    .max(65_535, 'must be 1-65535')
    .optional(),
  /** Loopback-only port of the proxy's own /health and /metrics. */
  PIER_PROXY_ADMIN_PORT: port(9090),
  /**
   * Last-known-good route table on disk, so the proxy starts and serves while Postgres is down;
   * in a directory of its own (under systemd the proxy runs as pier-proxy and owns it).
   */
  PIER_PROXY_SNAPSHOT: z.string().startsWith('/', 'must be an absolute path').default('/var/lib/pier-proxy/proxy-routes.json'),
  /** Interface of the public HTTP and HTTPS listeners: every interface by default; 127.0.0.1 behind another balancer or in tests. */
  PIER_PROXY_HOST: listenHost.default('0.0.0.0'),
  /**
   * A WebSocket tunnel with no byte either way for this long is closed, so
   * clients that vanished (a laptop shut, a NAT entry dropped) do not hold two
   * sockets forever. 10 minutes: far above the 25-60 s pings most WebSocket
   * libraries send, so live connections are never cut.
   */
  PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS: durationMs(600_000).refine((ms) => ms >= 1000, 'must be at least 1000 (one second)'),
  /**
   * Most WebSocket connections the proxy holds at once (handshakes included);
   * beyond it a handshake gets 503. Each holds two sockets: 10,000 is 20,000
   * descriptors and a few hundred MB at most, which one VPS affords, while a
   * flood of idle handshakes cannot exhaust the process.
   */
  PIER_PROXY_MAX_TUNNELS: positiveInt(10_000),
  /** Of those, most from one client address, so that one client cannot take them all (an office behind one NAT opens a few hundred). */
  PIER_PROXY_MAX_TUNNELS_PER_CLIENT: positiveInt(500),
  /**
   * How often the proxy adds the requests it counted (per environment and
   * release: status classes, bytes, latency) to request_metrics. Shorter:
   * fresher per-minute figures and a faster automatic rollback, at one
   * statement per flush.
   */
  PIER_PROXY_METRICS_FLUSH_MS: durationMs(10_000).refine((ms) => ms >= 100, 'must be at least 100'),
  /**
   * Compress text-like responses (HTML, CSS, JS, JSON, SVG, …) with brotli or
   * gzip for clients that accept them, unless the app compressed them or said
   * `no-transform`. Off: bodies go out as the apps send them.
   */
  PIER_PROXY_COMPRESSION: booleanFlag(true),
  /**
   * MiB of responses the edge keeps in memory per app (per proxy process),
   * for responses that say they may be cached (`Cache-Control: public,
   * max-age=…`): an app's static assets are then served by the edge. Least
   * recently used go first. 0 turns the cache off.
   */
  PIER_PROXY_CACHE_MB_PER_APP: z.coerce
    .number({ error: 'must be a whole number of MiB' })
    .int('must be a whole number of MiB')
    .min(0, 'must be 0 (off) or more')
    .default(32),
  /** MiB all apps' cached responses may take together (per proxy process), so many apps cannot exhaust its memory. */
  PIER_PROXY_CACHE_MB_TOTAL: positiveInt(256),
  /** KiB beyond which a response is streamed but not cached (body and headers): a few large downloads would evict many assets. */
  PIER_PROXY_CACHE_MAX_ENTRY_KB: positiveInt(2048),
  /**
   * Processes that serve the public listeners: `auto` (one per CPU) or a
   * number. With more than one, the proxy's first process keeps the routes,
   * certificates and health checks and hands them to the others, which serve.
   */
  PIER_PROXY_PROCESSES: processCount,
});

export type ProxyConfig = z.output<typeof proxyConfigSchema>;
