import { type ClientRequest, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RouteUpstream } from '@pier/core';
import { clientResponseHeaders } from './forwarded-headers.ts';
import { asError, type ForwardRequest, isConnectError, type UpgradeOutcome } from './forwarder.ts';

export interface UpgradeTunnelOptions {
  /** Connecting to the upstream fails after this long (then another upstream may be tried). */
  connectTimeoutMs: number;
  /** Time allowed for the upstream's answer to the handshake; past it the client gets a 504. */
  responseTimeoutMs: number;
  /** A tunnel with no byte either way for this long is closed. */
  idleTimeoutMs: number;
}

/**
 * WebSocket handshakes and the tunnels they become. The handshake reaches the
 * upstream as an HTTP request and Node's parser reads the answer: only a 101
 * splices the client's socket to the upstream's, and only then do the bytes
 * the client sent behind its handshake follow. Any other answer is relayed
 * as a response and both connections close, since a tunnel spliced before the
 * upstream agreed would hand it pipelined requests unparsed (request
 * smuggling). A connect failure touches nothing, so the caller may try
 * another upstream.
 */
export class UpgradeTunnels {
  readonly #options: UpgradeTunnelOptions;
  readonly #open = new Set<Socket>();

  constructor(options: UpgradeTunnelOptions) {
    this.#options = options;
  }

  open(
    req: IncomingMessage,
    res: ServerResponse,
    client: Duplex,
    head: Buffer,
    upstream: RouteUpstream,
    request: ForwardRequest,
  ): Promise<UpgradeOutcome> {
    return new Promise((resolve) => {
      if (client.destroyed) return resolve({ kind: 'client-gone' });
      const outgoing = httpRequest({
        host: upstream.host,
        port: upstream.port,
        method: 'GET',
        path: req.url,
        headers: request.headers,
        agent: false,
        setHost: false,
      });
      const attempt = new HandshakeAttempt(outgoing, client, this.#options, resolve);
      outgoing.once('upgrade', (response: IncomingMessage, socket: Socket, upstreamHead: Buffer) => {
        if (attempt.settled || client.destroyed) {
          socket.destroy();
          return attempt.finish({ kind: 'client-gone' });
        }
        attempt.finish({ kind: 'tunnelled' });
        res.detachSocket(client as Socket);
        client.write(switchingProtocolsHead(response, request.requestId));
        if (upstreamHead.length > 0) client.write(upstreamHead);
        if (head.length > 0) socket.write(head);
        this.#splice(client, socket);
      });
      outgoing.once('response', (response: IncomingMessage) => {
        if (attempt.settled) return void response.destroy();
        const outcome = relayRefusal(response, res, request.requestId);
        if (outcome.kind !== 'answered') return attempt.abandon(outcome);
        attempt.finish(outcome);
        res.once('close', () => outgoing.destroy());
      });
      outgoing.end();
    });
  }

  /** Tunnels spliced now. */
  get size(): number {
    return this.#open.size;
  }

  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
  }

  #splice(client: Duplex, socket: Socket): void {
    this.#open.add(socket);
    socket.setNoDelay(true);
    const teardown = () => {
      this.#open.delete(socket);
      socket.destroy();
      client.destroy();
    };
    // Bytes either way are read from or written to the upstream socket, so its timeout sees both directions.
    socket.setTimeout(this.#options.idleTimeoutMs, teardown);
    socket.on('error', teardown).on('close', teardown);
    client.on('error', teardown).on('close', teardown);
    socket.pipe(client);
    client.pipe(socket);
  }
}

/**
 * One handshake sent to one upstream, until its outcome: the connect timeout,
 * then the response timeout once connected; a connect failure is `not-sent`,
 * a later one `failed`; the client leaving first is `client-gone`.
 */
class HandshakeAttempt {
  #connected = false;
  #settled = false;
  #timer: NodeJS.Timeout;

  constructor(
    private readonly outgoing: ClientRequest,
    private readonly client: Duplex,
    private readonly options: Pick<UpgradeTunnelOptions, 'connectTimeoutMs' | 'responseTimeoutMs'>,
    private readonly settle: (outcome: UpgradeOutcome) => void,
  ) {
    const { connectTimeoutMs } = options;
    this.#timer = setTimeout(() => outgoing.destroy(connectTimeout(connectTimeoutMs)), connectTimeoutMs);
    client.once('close', this.#onClientGone);
    outgoing.once('socket', (socket: Socket) => socket.once('connect', this.#onConnect));
    // Also after the outcome: a late error must not throw (the tunnel or the relay handles its own).
    outgoing.on('error', (error) => {
      if (this.#settled) return;
      this.abandon(!this.#connected && isConnectError(error) ? { kind: 'not-sent', error } : { kind: 'failed', error });
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  finish(outcome: UpgradeOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.client.off('close', this.#onClientGone);
    this.settle(outcome);
  }

  /** Finishes and drops the upstream connection. */
  abandon(outcome: UpgradeOutcome): void {
    this.finish(outcome);
    this.outgoing.destroy();
  }

  #onConnect = (): void => {
    this.#connected = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.abandon({ kind: 'timeout' }), this.options.responseTimeoutMs);
  };

  #onClientGone = (): void => this.abandon({ kind: 'client-gone' });
}

/**
 * The upstream refused to switch: its answer goes to the client on `res`,
 * whose connection closes after it. `answered` once the head is written.
 */
function relayRefusal(response: IncomingMessage, res: ServerResponse, requestId: string): UpgradeOutcome {
  const status = response.statusCode ?? 0;
  // A 101 that Node did not take as an upgrade (no Upgrade header): nothing safe to relay.
  if (status < 200) return { kind: 'failed', error: new Error(`upstream answered ${status} without upgrading`) };
  if (res.destroyed) return { kind: 'client-gone' };
  try {
    res.writeHead(status, response.statusMessage || undefined, clientResponseHeaders(response.rawHeaders, requestId));
  } catch (error) {
    return { kind: 'failed', error: asError(error) };
  }
  response.on('error', () => res.destroy());
  response.once('close', () => {
    if (!response.complete) res.destroy();
  });
  response.pipe(res);
  return { kind: 'answered', status };
}

/** The upstream's 101 as the client receives it: its headers as sent, our X-Request-Id. */
function switchingProtocolsHead(response: IncomingMessage, requestId: string): string {
  const raw = response.rawHeaders;
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== 'x-request-id') head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return `${head}x-request-id: ${requestId}\r\n\r\n`;
}

function connectTimeout(ms: number): Error {
  return Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ETIMEDOUT' });
}
