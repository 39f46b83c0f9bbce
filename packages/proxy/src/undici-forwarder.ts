import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { RouteUpstream } from '@pier/core';
import { type Dispatcher, Pool } from 'undici';
import type { CdnBody } from './cdn-body.ts';
import type { RouteCdn } from './edge-cdn.ts';
import { clientResponseHeaders } from './forwarded-headers.ts';
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
  upstreamKey,
} from './forwarder.ts';
import { UpgradeTunnels } from './upgrade-tunnels.ts';

export interface UndiciForwarderOptions extends Partial<DataPathTimeouts> {
  /** Most connections kept to one upstream; requests beyond queue in the pool. */
  connectionsPerUpstream?: number;
}

/**
 * The data path on undici: one keep-alive `Pool` per upstream and the raw
 * `dispatch` handler API, so bodies stream both ways with backpressure and
 * nothing is buffered. A WebSocket becomes a TCP tunnel once the upstream
 * answers 101 (`UpgradeTunnels`).
 */
export class UndiciForwarder implements Forwarder {
  readonly #timeouts: DataPathTimeouts;
  readonly #connections: number;
  readonly #pools = new Map<string, Pool>();
  readonly #tunnels: UpgradeTunnels;

  constructor(options: UndiciForwarderOptions = {}) {
    this.#timeouts = resolveTimeouts(options);
    this.#connections = options.connectionsPerUpstream ?? 256;
    this.#tunnels = new UpgradeTunnels({
      connectTimeoutMs: this.#timeouts.connectTimeoutMs,
      responseTimeoutMs: this.#timeouts.responseTimeoutMs,
      idleTimeoutMs: this.#timeouts.tunnelIdleTimeoutMs,
    });
  }

  forward(req: IncomingMessage, res: ServerResponse, upstream: RouteUpstream, request: ForwardRequest): Promise<ForwardOutcome> {
    return new Promise((resolve) => {
      const relay = new ResponseRelay(res, request.requestId, resolve, request.cdn, upstream);
      const options: Dispatcher.DispatchOptions = {
        path: req.url ?? '/',
        method: req.method as Dispatcher.HttpMethod,
        headers: request.headers,
        // undici accepts async iterables at run time; its types list only streams.
        body: hasRequestBody(req) ? (relay.bodyFrom(req) as unknown as Readable) : null,
        headersTimeout: this.#timeouts.responseTimeoutMs,
        bodyTimeout: this.#timeouts.idleTimeoutMs,
      };
      try {
        this.#pool(upstream).dispatch(options, relay);
      } catch (error) {
        relay.onError(asError(error));
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

  retain(upstreams: readonly RouteUpstream[]): void {
    const keep = new Set(upstreams.map(upstreamKey));
    for (const [key, pool] of this.#pools) {
      if (keep.has(key)) continue;
      this.#pools.delete(key);
      pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.#tunnels.closeAll();
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => {})));
  }

  #pool(upstream: RouteUpstream): Pool {
    const key = upstreamKey(upstream);
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(`http://${key}`, {
        connections: this.#connections,
        pipelining: 1,
        keepAliveTimeout: this.#timeouts.keepAliveTimeoutMs,
        keepAliveMaxTimeout: this.#timeouts.keepAliveTimeoutMs,
        connect: { timeout: this.#timeouts.connectTimeoutMs },
      });
      // Connection errors also reach the request that caused them.
      pool.on('connectionError', () => {});
      this.#pools.set(key, pool);
    }
    return pool;
  }
}

/**
 * One exchange: undici's handler callbacks, relayed to the client response.
 * `onConnect` runs when the request is about to be written, so an error
 * before it means nothing reached the upstream.
 */
class ResponseRelay implements Dispatcher.DispatchHandlers {
  #written = false;
  #settled = false;
  #abort: ((error?: Error) => void) | null = null;
  /** The CDN role's body path (compression, cache copy); null: the body goes to `res` as it is. */
  #body: CdnBody | null = null;
  readonly #started = performance.now();

  constructor(
    private readonly res: ServerResponse,
    private readonly requestId: string,
    private readonly settle: (outcome: ForwardOutcome) => void,
    private readonly cdn: RouteCdn | undefined,
    private readonly upstream: RouteUpstream,
  ) {
    res.once('close', this.#onClientClose);
  }

  /** The request body as an iterable that undici pulls only once connected; the client stream is never destroyed by undici. */
  async *bodyFrom(req: IncomingMessage): AsyncGenerator<Buffer> {
    for await (const chunk of req.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#written = true;
    this.#abort = abort;
    if (this.res.destroyed) abort();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    if (this.res.destroyed) return false;
    // A header Node refuses to send throws here; undici then reports it through onError (502).
    const headers = clientResponseHeaders(rawHeaders, this.requestId);
    if (this.cdn) this.#body = this.cdn.begin(this.res, status, headers, resume, this.upstream);
    // HTTP/2 has no status text (RFC 9113 §8.3.2); Node warns when given one.
    this.res.writeHead(status, statusText && this.res.req.httpVersionMajor !== 2 ? statusText : undefined, headers);
    // Through an encoder, the upstream resumes on the encoder's drain (CdnBody), not the client's.
    if (this.#body?.encodes !== true) this.res.on('drain', resume);
    this.#finish({ kind: 'responded', status, headersMs: performance.now() - this.#started });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.#body === null ? this.res.write(chunk) : this.#body.write(chunk);
  }

  onComplete(): void {
    if (this.#body === null) this.res.end();
    else this.#body.end();
  }

  onError(error: Error): void {
    if (this.#settled) {
      // The response had started: cut it off so the client sees it incomplete.
      this.#body?.abort();
      this.res.destroy(error);
      return;
    }
    this.#body?.abort(); // writeHead refused the headers after the body path was set up
    this.#finish(this.#outcomeOf(error));
  }

  #outcomeOf(error: Error): ForwardOutcome {
    if (this.res.destroyed) return { kind: 'client-gone' };
    if (!this.#written && isConnectError(error)) return { kind: 'not-sent', error };
    if ((error as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'timeout' };
    return { kind: 'failed', error };
  }

  #onClientClose = (): void => {
    if (this.res.writableFinished) return;
    this.#body?.abort();
    this.#abort?.();
    this.#finish({ kind: 'client-gone' });
  };

  #finish(outcome: ForwardOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (outcome.kind !== 'responded') this.res.off('close', this.#onClientClose);
    this.settle(outcome);
  }
}
