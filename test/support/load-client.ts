import { Agent, request } from 'node:http';

/** One request the load client sent: when, and what came back (or why nothing did). */
export interface LoadSample {
  loop: number;
  /** Date.now() when the request was sent and when it ended, comparable with timestamps in Postgres. */
  startedAt: number;
  endedAt: number;
  status?: number;
  body?: string;
  error?: string;
}

export interface LoadOptions {
  /** Port on 127.0.0.1 (the load client never sends anywhere else). */
  port: number;
  /** The Host header (the proxy routes by it). */
  host: string;
  path?: string;
  /** Loops sending requests back to back. */
  concurrency?: number;
  /** Hard cap: every loop stops by itself after this long, whether stopped or not. */
  maxDurationMs: number;
  /** A request without a complete answer by then counts as failed. */
  requestTimeoutMs?: number;
}

export interface LoadClient {
  readonly samples: readonly LoadSample[];
  /** Stops the loops and resolves with every sample once the last request has ended. */
  stop(): Promise<LoadSample[]>;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failed: LoadSample[];
}

/** A bounded load generator on loopback: `concurrency` keep-alive loops sending GETs back to back. */
export function startLoad(options: LoadOptions): LoadClient {
  const concurrency = options.concurrency ?? 4;
  const samples: LoadSample[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = Date.now() + options.maxDurationMs;
  let stopped = false;
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    while (!stopped && Date.now() < deadline) {
      samples.push(await once(agent, options, loop));
    }
  });
  return {
    samples,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return samples;
    },
  };
}

export function summarize(samples: readonly LoadSample[]): LoadSummary {
  const failed = samples.filter((s) => s.error !== undefined || s.status !== 200);
  return { sent: samples.length, ok: samples.length - failed.length, failed };
}

function once(agent: Agent, options: LoadOptions, loop: number): Promise<LoadSample> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (fields: Partial<LoadSample>) => {
      if (settled) return;
      settled = true;
      resolve({ loop, startedAt, endedAt: Date.now(), ...fields });
    };
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path ?? '/',
        headers: { host: options.host },
        agent,
        timeout: options.requestTimeoutMs ?? 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => finish({ status: res.statusCode, body }));
        res.on('error', (err) => finish({ status: res.statusCode, body, error: err.message }));
        res.on('aborted', () => finish({ status: res.statusCode, body, error: 'response aborted' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ? `${err.code}: ${err.message}` : err.message }));
    req.end();
  });
}
