import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { PendingLine } from '@pier/db';
import { httpsBody } from './drain-messages.ts';
import type { ConnectionSettings, DrainSender } from './drain-sender.ts';

/**
 * An https drain: each batch one POST of a JSON array (`httpsBody`), with the
 * drain's headers, on a kept-alive connection; a 2xx answer takes the batch,
 * anything else (or no answer within the timeout) fails it. Certificates are
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
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`the endpoint answered HTTP ${status}`));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
