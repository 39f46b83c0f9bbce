import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RouteUpstream } from '@pier/core';
import type { ForwardRequest, UpgradeOutcome } from './forwarder.ts';

/**
 * Upgrade requests (WebSocket) as a raw TCP tunnel: connect to the upstream,
 * replay the request head, then pipe bytes both ways; the upstream's `101`
 * (or refusal) reaches the client as it was sent. A connect failure touches
 * nothing, so the caller may try another upstream.
 */
export class UpgradeTunnels {
  #open = new Set<Socket>();

  constructor(private readonly connectTimeoutMs: number) {}

  open(
    req: IncomingMessage,
    client: Duplex,
    head: Buffer,
    upstream: RouteUpstream,
    request: ForwardRequest,
  ): Promise<UpgradeOutcome> {
    return new Promise((resolve) => {
      if (client.destroyed) return resolve({ kind: 'client-gone' });
      const socket = connect({ host: upstream.host, port: upstream.port });
      const onClientGone = () => {
        socket.destroy();
        resolve({ kind: 'client-gone' });
      };
      client.once('close', onClientGone);
      socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(connectTimeout(this.connectTimeoutMs)));
      socket.once('error', (error) => {
        client.off('close', onClientGone);
        resolve({ kind: 'not-sent', error });
      });
      socket.once('connect', () => {
        client.off('close', onClientGone);
        socket.removeAllListeners('error');
        socket.setTimeout(0);
        socket.write(requestHead(req, request.headers));
        if (head.length > 0) socket.write(head);
        this.#splice(client, socket);
        resolve({ kind: 'tunnelled' });
      });
    });
  }

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
    socket.on('error', teardown).on('close', teardown);
    client.on('error', teardown).on('close', teardown);
    socket.pipe(client);
    client.pipe(socket);
  }
}

function requestHead(req: IncomingMessage, headers: IncomingHttpHeaders): string {
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) head += `${name}: ${item}\r\n`;
  }
  return `${head}\r\n`;
}

function connectTimeout(ms: number): Error {
  return Object.assign(new Error(`connect timed out after ${ms} ms`), { code: 'ETIMEDOUT' });
}
