import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Route, RouteUpstream } from '@pier/core';
import type { EdgeCdn } from './edge-cdn.ts';
import {
  BAD_GATEWAY,
  errorResponse,
  NO_HEALTHY_UPSTREAM,
  NO_UPSTREAM_YET,
  type ProxyErrorKind,
  UNKNOWN_HOST,
  UPSTREAM_TIMEOUT,
} from './error-pages.ts';
import { clientAddress, requestIdFrom, upstreamRequestHeaders } from './forwarded-headers.ts';
import {
  type Forwarder,
  type ForwardOutcome,
  type ForwardRequest,
  hasRequestBody,
  isConnectError,
  type UpgradeOutcome,
} from './forwarder.ts';
import type { UpstreamHealth } from './health-poller.ts';
import { requestHost } from './hostnames.ts';
import { endKeepAlive, sessionOf, sessionSocket } from './http2-requests.ts';
import { NO_ROUTE, type ProxyMetrics } from './metrics.ts';
import { type ProxyLogger, silentLogger } from './proxy-logger.ts';
import { RoundRobin } from './round-robin.ts';
import { RouteHold, type RouteHoldOptions } from './route-hold.ts';
import type { RouteTable } from './route-table.ts';
import { isWebSocketUpgrade, responseOnSocket, TOO_MANY_TUNNELS, UPGRADE_WITH_BODY } from './upgrade-requests.ts';

export interface EdgeProxyOptions {
  routes: RouteTable;
  health: UpstreamHealth;
  forwarder: Forwarder;
  metrics: ProxyMetrics;
  log?: ProxyLogger;
  /** Most WebSocket connections held at once (handshakes included); beyond it a handshake gets 503. */
  maxTunnels?: number;
  /** Of those, most from one client address, so that one client cannot take them all. */
  maxTunnelsPerClient?: number;
  /** How long, and how many, requests are held while a route has no upstream (default 30 s, 1000 per route). */
  hold?: RouteHoldOptions;
  /** The CDN role: compression and the response cache (docs/decisions/0001-proxy-data-path.md, "The CDN role"). */
  cdn?: EdgeCdn;
}

/**
 * Each tunnel holds two sockets (client and upstream) and their buffers:
 * 10,000 is 20,000 descriptors and a few hundred MB at most, which one VPS
 * affords, while a flood of idle handshakes cannot take the process down.
 */
export const DEFAULT_MAX_TUNNELS = 10_000;

/** One address may hold this many: a browser opens a few; an office behind one NAT, a few hundred. */
export const DEFAULT_MAX_TUNNELS_PER_CLIENT = 500;

/** How much of a keep-alive connection's traffic earlier requests on it were counted for. */
const COUNTED_IN = Symbol('pier.countedIn');
const COUNTED_OUT = Symbol('pier.countedOut');
type CountedSocket = IncomingMessage['socket'] & { [COUNTED_IN]?: number; [COUNTED_OUT]?: number };

/**
 * Attempts per request: the first upstream, and one other when the first could not be connected to
 * (or, for an idempotent request without a body, when its connection broke before any answer).
 */
const MAX_ATTEMPTS = 2;

/** RFC 9110 §9.2.2: requests a client (or proxy) may repeat automatically. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * A request whose upstream connection closed or reset before any response
 * byte may be sent again to another upstream when repeating it is harmless:
 * idempotent, no body (nothing of the client's stream was consumed), and a
 * connection-level error rather than a bad answer. nginx's default
 * `proxy_next_upstream error` does the same. It covers a replica killed
 * while Docker's port forwarder still accepts connections for it.
 */
function isReplayable(req: IncomingMessage, error: Error): boolean {
  return IDEMPOTENT_METHODS.has(req.method ?? '') && !hasRequestBody(req) && isConnectError(error);
}

/**
 * The edge proxy's request and upgrade handlers: route by Host, round robin
 * over healthy upstreams, retry a connect failure once on another upstream,
 * add forwarding headers, and answer 404/502/503/504 itself. Attach it to any
 * number of HTTP or HTTPS servers; the scheme comes from the socket. Of the
 * requests Node hands over as upgrades, only WebSocket handshakes are
 * tunnelled (at most `maxTunnels` at once); the others are answered as
 * ordinary requests on their socket, which then closes.
 */
export class EdgeProxy {
  readonly #routes: RouteTable;
  readonly #health: UpstreamHealth;
  readonly #forwarder: Forwarder;
  readonly #metrics: ProxyMetrics;
  readonly #log: ProxyLogger;
  readonly #maxTunnels: number;
  readonly #maxTunnelsPerClient: number;
  /** Open tunnels per client address; an address leaves the map with its last tunnel. */
  readonly #tunnelsByClient = new Map<string, number>();
  /** The client side of every open tunnel: a server's close() waits for them, so shutdown ends them. */
  readonly #tunnelSockets = new Set<Duplex>();
  readonly #balancer = new RoundRobin();
  readonly #hold: RouteHold;
  readonly #cdn: EdgeCdn | undefined;
  #draining = false;

  constructor(options: EdgeProxyOptions) {
    this.#routes = options.routes;
    this.#health = options.health;
    this.#forwarder = options.forwarder;
    this.#metrics = options.metrics;
    this.#log = options.log ?? silentLogger;
    this.#maxTunnels = options.maxTunnels ?? DEFAULT_MAX_TUNNELS;
    this.#maxTunnelsPerClient = options.maxTunnelsPerClient ?? DEFAULT_MAX_TUNNELS_PER_CLIENT;
    this.#hold = new RouteHold(options.hold);
    this.#routes.onReplace(() => this.#hold.wake());
    this.#cdn = options.cdn;
    this.#cdn?.follow(this.#routes);
  }

  /** Serves `server`'s requests and upgrades. */
  attach(server: Server): void {
    server.on('request', this.handleRequest);
    server.on('upgrade', this.handleUpgrade);
  }

  /** From now on every response carries `Connection: close`, so clients move off this process. */
  drain(): void {
    this.#draining = true;
  }

  get inFlight(): number {
    return this.#metrics.inFlight;
  }

  /** Requests held right now, waiting for their route to get an upstream. */
  get held(): number {
    return this.#hold.held;
  }

  /**
   * Ends every open tunnel (WebSocket clients reconnect, to another process).
   * A tunnel has no request boundary to drain at, and an upgraded socket is
   * no longer the HTTP server's to close: without this, shutdown would wait
   * for each tunnel's idle timeout.
   */
  closeTunnels(): void {
    for (const socket of this.#tunnelSockets) socket.destroy();
    this.#tunnelSockets.clear();
  }

  handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', this.#ignoreClientError);
    res.on('error', this.#ignoreClientError);
    if (this.#draining) endKeepAlive(req, res);
    this.#serve(req, res).catch((err) => {
      this.#log.error({ err, host: requestHost(req.headers), url: req.url }, 'proxy request failed unexpectedly');
      if (!res.headersSent) this.#answer(req, res, BAD_GATEWAY, requestIdFrom(undefined));
      else res.destroy();
    });
  };

  /**
   * Serves a request Node handed over as an upgrade. `res` is a response on
   * its socket (`responseOnSocket`), made here when the caller has none.
   */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, res = responseOnSocket(req, socket)): void => {
    socket.on('error', this.#ignoreClientError);
    if (!res) return;
    if (!isWebSocketUpgrade(req)) {
      // Anything but a WebSocket handshake is one ordinary request; its socket closes after the answer.
      if (hasRequestBody(req)) this.#answer(req, res, UPGRADE_WITH_BODY, requestIdFrom(req.headers['x-request-id']));
      else this.handleRequest(req, res);
      return;
    }
    (socket as Partial<TLSSocket>).setTimeout?.(0);
    this.#tunnel(req, res, socket, head).catch((err) => {
      this.#log.error({ err, host: requestHost(req.headers) }, 'proxy upgrade failed unexpectedly');
      socket.destroy();
    });
  };

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#metrics.requestStarted();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    let route = this.#routes.lookup(requestHost(req.headers));
    /** The replica whose answer (or failure) ended the request; null when none was tried. */
    let answeredBy: RouteUpstream | null = null;
    const session = sessionOf(req);
    // 499 (nginx's "client closed request") when the client left before any answer.
    res.once('close', () => {
      const socket = (session === undefined ? req.socket : sessionSocket(session)) as CountedSocket | null;
      // What the connection carried since the previous request on it ended: this request, headers included.
      // Over HTTP/2 the session's streams share it: each request gets what the socket carried since the
      // session's previous stream closed, exact for the session but shared out roughly between overlapping streams.
      const bytesIn = socket ? socket.bytesRead - (socket[COUNTED_IN] ?? 0) : 0;
      const bytesOut = socket ? socket.bytesWritten - (socket[COUNTED_OUT] ?? 0) : 0;
      if (socket) {
        socket[COUNTED_IN] = socket.bytesRead;
        socket[COUNTED_OUT] = socket.bytesWritten;
      }
      this.#metrics.requestFinished(route ?? NO_ROUTE, res.headersSent ? res.statusCode : 499, answeredBy, bytesIn, bytesOut);
    });
    if (!route) return this.#answer(req, res, UNKNOWN_HOST, requestId);
    let cdn = this.#cdn?.forRoute(route);
    // A stored answer is served even while the route has no healthy (or no) upstream.
    const stored = cdn?.answer(req, res, requestId);
    if (stored !== undefined) {
      answeredBy = stored;
      return;
    }
    if (route.upstreams.length === 0 && route.hold === true) {
      // Its replicas are being swapped: held until the routes bring an upstream, instead of refused.
      const held = await this.#held(req, res, route);
      if (held === 'gone') return;
      if (typeof held === 'string') return this.#answer(req, res, held === 'unknown' ? UNKNOWN_HOST : NO_UPSTREAM_YET, requestId);
      route = held;
      cdn = this.#cdn?.forRoute(route);
    }
    const request: ForwardRequest = {
      headers: upstreamRequestHeaders(req.headers, this.#context(req, requestId)),
      requestId,
      cdn,
    };
    let refused: RouteUpstream | undefined;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const upstream = this.#balancer.pick(route, this.#isHealthy, refused);
      if (!upstream) return this.#answer(req, res, attempt === 1 ? NO_HEALTHY_UPSTREAM : BAD_GATEWAY, requestId);
      // Before forwarding: the response may end (and 'close' count it) before forward() resolves.
      answeredBy = upstream;
      const outcome = await this.#forwarder.forward(req, res, upstream, request);
      if (outcome.kind === 'not-sent' && attempt < MAX_ATTEMPTS) {
        refused = upstream;
        this.#connectFailed(route, upstream, outcome.error, requestId);
        this.#metrics.retried();
        continue;
      }
      if (outcome.kind === 'failed' && attempt < MAX_ATTEMPTS && isReplayable(req, outcome.error)) {
        refused = upstream;
        this.#brokeBeforeAnswer(route, upstream, outcome.error, requestId);
        this.#metrics.retried();
        continue;
      }
      return this.#conclude(req, res, route, upstream, outcome, requestId);
    }
  }

  #conclude(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    upstream: RouteUpstream,
    outcome: ForwardOutcome | UpgradeOutcome,
    requestId: string,
  ): void {
    switch (outcome.kind) {
      case 'responded':
        this.#metrics.upstreamLatency(route, outcome.headersMs / 1000, upstream);
        return;
      case 'tunnelled':
      case 'answered':
      case 'client-gone':
        return;
      case 'timeout':
        this.#metrics.upstreamError(route, 'timeout');
        this.#log.warn({ app: route.app, env: route.env, upstreamId: upstream.id, requestId }, 'upstream timed out');
        this.#answer(req, res, UPSTREAM_TIMEOUT, requestId);
        return;
      case 'not-sent':
        this.#connectFailed(route, upstream, outcome.error, requestId);
        this.#answer(req, res, BAD_GATEWAY, requestId);
        return;
      case 'failed':
        this.#metrics.upstreamError(route, 'reset');
        this.#log.warn(
          { err: outcome.error, app: route.app, env: route.env, upstreamId: upstream.id, requestId },
          'upstream failed',
        );
        this.#answer(req, res, BAD_GATEWAY, requestId);
    }
  }

  async #tunnel(req: IncomingMessage, res: ServerResponse, socket: Duplex, head: Buffer): Promise<void> {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const route = this.#routes.lookup(requestHost(req.headers));
    if (!route) return this.#answer(req, res, UNKNOWN_HOST, requestId);
    const client = clientAddress(req.socket.remoteAddress);
    const ofClient = this.#tunnelsByClient.get(client) ?? 0;
    if (this.#metrics.tunnelsOpen >= this.#maxTunnels || ofClient >= this.#maxTunnelsPerClient) {
      this.#metrics.tunnelRefused();
      return this.#answer(req, res, TOO_MANY_TUNNELS, requestId);
    }
    this.#metrics.tunnelOpened();
    this.#tunnelsByClient.set(client, ofClient + 1);
    this.#tunnelSockets.add(socket);
    socket.once('close', () => {
      this.#tunnelSockets.delete(socket);
      this.#metrics.tunnelClosed();
      const left = (this.#tunnelsByClient.get(client) ?? 1) - 1;
      if (left > 0) this.#tunnelsByClient.set(client, left);
      else this.#tunnelsByClient.delete(client);
    });
    const request: ForwardRequest = {
      headers: upstreamRequestHeaders(req.headers, { ...this.#context(req, requestId), upgrade: true }),
      requestId,
    };
    let refused: RouteUpstream | undefined;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const upstream = this.#balancer.pick(route, this.#isHealthy, refused);
      if (!upstream) return this.#answer(req, res, attempt === 1 ? NO_HEALTHY_UPSTREAM : BAD_GATEWAY, requestId);
      const outcome = await this.#forwarder.upgrade(req, res, socket, head, upstream, request);
      if (outcome.kind !== 'not-sent' || attempt === MAX_ATTEMPTS)
        return this.#conclude(req, res, route, upstream, outcome, requestId);
      refused = upstream;
      this.#connectFailed(route, upstream, outcome.error, requestId);
      this.#metrics.retried();
    }
  }

  #isHealthy = (upstream: RouteUpstream): boolean => this.#health.isHealthy(upstream.id);

  /**
   * Holds a request of a route without upstreams: the route once it has one;
   * `unknown` once it is gone; `released` once a reload no longer holds it
   * (the rollout ended without an upstream, e.g. it failed): no use waiting.
   */
  #held(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
  ): Promise<Route | 'unknown' | 'released' | 'full' | 'timeout' | 'gone'> {
    const host = requestHost(req.headers);
    const now = (): Route | 'unknown' | 'released' | undefined => {
      const current = this.#routes.lookup(host);
      if (!current) return 'unknown';
      if (current.upstreams.length > 0) return current;
      return current.hold === true ? undefined : 'released';
    };
    return this.#hold.hold(`${route.app}/${route.env}`, now, res);
  }

  #context(req: IncomingMessage, requestId: string) {
    const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
    return {
      clientAddress: clientAddress(req.socket.remoteAddress),
      protocol: encrypted ? ('https' as const) : ('http' as const),
      requestId,
    };
  }

  #connectFailed(route: Route, upstream: RouteUpstream, error: Error, requestId: string): void {
    this.#metrics.upstreamError(route, 'connect');
    this.#health.suspect?.(upstream.id);
    this.#log.warn(
      { err: error, app: route.app, env: route.env, upstreamId: upstream.id, requestId },
      'cannot connect to upstream',
    );
  }

  /** The connection broke after the request was sent and before any answer (a replica killed mid-request). */
  #brokeBeforeAnswer(route: Route, upstream: RouteUpstream, error: Error, requestId: string): void {
    this.#metrics.upstreamError(route, 'reset');
    this.#health.suspect?.(upstream.id);
    this.#log.warn(
      { err: error, app: route.app, env: route.env, upstreamId: upstream.id, requestId },
      'upstream connection broke before answering; retrying on another upstream',
    );
  }

  #answer(req: IncomingMessage, res: ServerResponse, kind: ProxyErrorKind, requestId: string): void {
    if (res.headersSent || res.destroyed) return void res.destroy();
    const page = errorResponse(kind, req.headers.accept, requestId);
    res.writeHead(page.status, page.headers);
    res.end(req.method === 'HEAD' ? undefined : page.body);
  }

  #ignoreClientError = (err: Error): void => {
    this.#log.debug({ err }, 'client connection error');
  };
}
