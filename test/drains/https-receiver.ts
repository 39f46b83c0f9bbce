import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TlsFixture } from './tls-fixture.ts';

export interface ReceivedBatch {
  headers: IncomingHttpHeaders;
  lines: { id: number; line: string; app: string; env: string; stream: string; release: number | null }[];
}

export interface HttpsReceiver {
  port: number;
  /** Batches answered 2xx, in the order they came. */
  accepted: ReceivedBatch[];
  /** Requests answered otherwise. */
  refused: number;
  /** Answers the next `n` requests with 503. */
  refuseNext(n: number): void;
  start(): Promise<void>;
  /** Stops listening and cuts every open connection, as a receiver that goes down does. */
  stop(): Promise<void>;
}

/** A local HTTPS endpoint with the fixture's certificate, keeping what it is sent. */
export function httpsReceiver(tls: TlsFixture, port: number): HttpsReceiver {
  let server: Server | null = null;
  let refuse = 0;
  const receiver: HttpsReceiver = {
    port,
    accepted: [],
    refused: 0,
    refuseNext: (n) => {
      refuse = n;
    },
    start: async () => {
      server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          if (refuse > 0) {
            refuse -= 1;
            receiver.refused += 1;
            res.writeHead(503).end();
            return;
          }
          receiver.accepted.push({ headers: req.headers, lines: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          res.writeHead(204).end();
        });
      });
      const listening = server;
      await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
    },
    stop: async () => {
      const running = server;
      server = null;
      if (!running) return;
      const closed = new Promise((resolve) => running.close(resolve));
      running.closeAllConnections();
      await closed;
    },
  };
  return receiver;
}
