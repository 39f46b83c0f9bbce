import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { PendingLine } from '@pier/db';
import { httpsBody } from './drain-messages.ts';
import type { ConnectionSettings, DrainSender } from './drain-sender.ts';

/** The most of an endpoint's answer body read (and thrown away) before its connection is cut. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * An https drain: each batch one POST of a JSON array (`httpsBody`), with the
 * drain's headers, on a kept-alive connection; a 2xx answer takes the batch,
 * anything else (or no status within the timeout) fails it; the whole POST,
 * answer included, ends within the timeout. Certificates are
 * verified against the drain's CA or Node's bundled ones (NODE_EXTRA_CA_CERTS adds to those). Plain http is only ever a
 * loopback URL (the URL check allows no other).
 */
export class HttpsDrainSender implements DrainSender {
  readonly #agent: HttpAgent;

  constructor(private readonly settings: ConnectionSettings & { url: URL; headers: Record<string, string> }) {
    const { lookup, ca } = settings;
    this.#agent =
      settings.url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 1, lookup, ...(ca ? { ca } : {}) })
        : new HttpAgent({ keepAlive: true, maxSockets: 1, lookup });
  }

  send(lines: readonly PendingLine[]): Promise<void> {
    const { url, headers, timeoutMs } = this.settings;
    const body = Buffer.from(httpsBody(lines), 'utf8');
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<void>((resolve, reject) => {
      let status: number | null = null;
      const settle = (err?: Error) => {
        clearTimeout(deadline);
        if (err) reject(err);
        else if (status !== null && status >= 200 && status < 300) resolve();
        else reject(new Error(`the endpoint answered HTTP ${status}`));
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.#agent,
          lookup: this.settings.lookup,
          timeout: timeoutMs,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
        },
        (res) => {
          status = res.statusCode ?? 0;
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            // The answer's body means nothing here: a large one is not read, its connection goes.
            if (read > MAX_ANSWER_BYTES) {
              req.destroy();
              settle();
            }
          });
          res.on('end', () => settle());
          res.on('error', (err) => settle(status === null ? err : undefined));
        },
      );
      // The whole exchange, answer's body included, has one deadline: an endpoint that drips its answer
      // holds the drain no longer than one that never answers. An answered status still counts.
      const deadline = setTimeout(() => {
        req.destroy();
        settle(status === null ? new Error(`no answer within ${timeoutMs} ms`) : undefined);
      }, timeoutMs);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => settle(status === null ? err : undefined));
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
