import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { sendDeadline, withinDeadline } from './send-context.ts';

export interface OutboundPostOptions {
  headers: Record<string, string>;
  /** The connect-time guard (`outboundLookup` of @pier/core): refuses what the name resolves to before a byte is sent. */
  lookup: LookupFunction;
  /** The whole exchange, connect to the end of the answer (however slowly it drips). */
  timeoutMs: number;
  /** Aborts the exchange when the notifier stops. */
  signal?: AbortSignal;
  /** Certificates trusted besides the system's (an operator's CA; tests' receivers). */
  extraCa?: readonly string[];
}

/** The most of an answer's body read (for the error when it is not 2xx); the rest is dropped. */
const MAX_ANSWER_BYTES = 2048;

/**
 * POSTs `body` to `url` (https, or http to loopback as the channel's check
 * allowed) and resolves once the receiver answered 2xx; rejects with the
 * status and the start of the answer otherwise, or on a refused address, a
 * TLS failure or the timeout. Never follows redirects: a receiver that
 * redirects is answering, not accepting.
 */
export function outboundPost(url: URL, body: string, options: OutboundPostOptions): Promise<void> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const deadline = sendDeadline(options);
  let req: ReturnType<typeof request> | undefined;
  const exchange = new Promise<void>((resolve, reject) => {
    req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-length': String(Buffer.byteLength(body)), ...options.headers },
        lookup: options.lookup,
        timeout: options.timeoutMs,
        ...(options.extraCa?.length ? { ca: [...rootCertificates, ...options.extraCa] } : {}),
      },
      (res) => {
        readStart(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`the receiver answered HTTP ${status}${text ? `: ${text}` : ''}`));
        }, reject);
      },
    );
    const sending = req;
    sending.on('timeout', () => sending.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    sending.on('error', reject);
    sending.end(body);
  });
  return withinDeadline(exchange, deadline, options, () => req?.destroy());
}

function readStart(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').slice(0, 200).replace(/\s+/g, ' ').trim()));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the receiver closed the connection before the end of its answer'));
    });
  });
}
