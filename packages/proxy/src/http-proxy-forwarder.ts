import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RouteUpstream } from '@pier/core';
import httpProxy from 'http-proxy';
import {
  asError,
  type DataPathTimeouts,
  type Forwarder,
  type ForwardOutcome,
  type ForwardRequest,
  hasRequestBody,
  isConnectError,
  resolveTimeouts,
  type UpgradeOutcome,
} from './forwarder.ts';
import { UpgradeTunnels } from './upgrade-tunnels.ts';

export interface HttpProxyForwarderOptions extends Partial<DataPathTimeouts> {
  /** Most sockets kept to one upstream. */
  connectionsPerUpstream?: number;
}

/** Response headers that describe the upstream hop only. */
const HOP_BY_HOP_RESPONSE = ['keep-alive', 'transfer-encoding', 'proxy-connection', 'trailer', 'upgrade'];

/**
 * The data path on http-proxy with a keep-alive `http.Agent`. Kept as the
 * measured alternative (docs/decisions/0001-proxy-data-path.md). http-proxy
 * pipes the request body as soon as it starts, so a connect failure is only
 * reported as `not-sent` (retryable) for requests without a body.
 */
export class HttpProxyForwarder implements Forwarder {
  readonly #timeouts: DataPathTimeouts;
  readonly #agent: Agent;
  readonly #proxy: httpProxy;
  readonly #calls = new WeakMap<IncomingMessage, ProxyCall>();
  readonly #tunnels: UpgradeTunnels;

  constructor(options: HttpProxyForwarderOptions = {}) {
    this.#timeouts = resolveTimeouts(options);
    const sockets = options.connectionsPerUpstream ?? 256;
    // `timeout` closes idle pooled sockets before the upstream's keep-alive does.
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: sockets,
      maxFreeSockets: sockets,
      timeout: this.#timeouts.keepAliveTimeoutMs,
      scheduling: 'lifo',
    });
    this.#proxy = httpProxy.createProxyServer({
      agent: this.#agent,
      xfwd: false,
      ws: false,
      proxyTimeout: this.#timeouts.responseTimeoutMs,
    });
    this.#proxy.on('proxyReq', (proxyReq, req) => this.#calls.get(req)?.attach(proxyReq));
    this.#proxy.on('proxyRes', (proxyRes, req) => this.#calls.get(req)?.responded(proxyRes));
    this.#proxy.on('econnreset', (_err, req) => this.#calls.get(req)?.clientGone());
    // Every error also reaches the per-request callback; this listener keeps http-proxy from throwing.
    this.#proxy.on('error', () => {});
    this.#tunnels = new UpgradeTunnels({
      connectTimeoutMs: this.#timeouts.connectTimeoutMs,
      responseTimeoutMs: this.#timeouts.responseTimeoutMs,
      idleTimeoutMs: this.#timeouts.tunnelIdleTimeoutMs,
    });
  }

  forward(req: IncomingMessage, res: ServerResponse, upstream: RouteUpstream, request: ForwardRequest): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      const call = new ProxyCall(req, res, request.requestId, resolve);
      this.#calls.set(req, call);
      req.headers = request.headers;
      try {
        this.#proxy.web(req, res, { target: { host: upstream.host, port: upstream.port } }, (error) =>
          call.failed(asError(error)),
        );
      } catch (error) {
        call.failed(asError(error));
      }
    });
  }

  upgrade(
    req: IncomingMessage,
    res: ServerResponse,
    socket: Duplex,
    head: Buffer,
    upstream: RouteUpstream,
    request: ForwardRequest,
  ): Promise<UpgradeOutcome> {
    return this.#tunnels.open(req, res, socket, head, upstream, request);
  }

  retain(): void {
    // The agent pools by host:port and drops idle sockets on its own timeout.
  }

  async close(): Promise<void> {
    this.#tunnels.closeAll();
    this.#proxy.close();
    this.#agent.destroy();
  }
}

/** One attempt through http-proxy, turned into a ForwardOutcome. */
class ProxyCall {
  #proxyReq: ClientRequest | undefined;
  #connected = false;
  #timedOut = false;
  #settled = false;
  readonly #started = performance.now();

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly requestId: string,
    private readonly settle: (outcome: ForwardOutcome) => void,
  ) {
    res.once('close', this.#onClientClose);
  }

  attach(proxyReq: ClientRequest): void {
    this.#proxyReq = proxyReq;
    proxyReq.on('timeout', () => {
      this.#timedOut = true;
    });
    const socket = proxyReq.socket;
    if (socket && !socket.connecting) this.#connected = true;
    else
      socket?.once('connect', () => {
        this.#connected = true;
      });
  }

  responded(proxyRes: IncomingMessage): void {
    for (const name of HOP_BY_HOP_RESPONSE) delete proxyRes.headers[name];
    // The client connection's own (http-proxy would copy the upstream's or the request's): close when draining or answering an upgrade socket.
    proxyRes.headers.connection = this.res.shouldKeepAlive ? 'keep-alive' : 'close';
    proxyRes.headers['x-request-id'] = this.requestId;
    // http-proxy pipes proxyRes into the response and leaves it open when the upstream dies midway.
    proxyRes.once('close', () => {
      if (!proxyRes.complete) this.res.destroy();
    });
    this.#finish({ kind: 'responded', status: proxyRes.statusCode ?? 502, headersMs: performance.now() - this.#started });
  }

  clientGone(): void {
    this.#finish({ kind: 'client-gone' });
  }

  failed(error: Error): void {
    if (this.#settled) {
      this.res.destroy(error);
      return;
    }
    this.#finish(this.#outcomeOf(error));
  }

  #outcomeOf(error: Error): ForwardOutcome {
    if (this.res.destroyed) return { kind: 'client-gone' };
    if (this.#timedOut) return { kind: 'timeout' };
    if (!this.#connected && !hasRequestBody(this.req) && isConnectError(error)) return { kind: 'not-sent', error };
    return { kind: 'failed', error };
  }

  #onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.#proxyReq?.destroy();
    this.#finish({ kind: 'client-gone' });
  };

  #finish(outcome: ForwardOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (outcome.kind !== 'responded') this.res.off('close', this.#onClientClose);
    this.settle(outcome);
  }
}
