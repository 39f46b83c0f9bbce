import { createLogger } from '@pier/log';
import { EdgeProxy, ProxyMetrics, RouteTable, SharedHealth, UndiciForwarder } from '@pier/proxy';
import type { ChallengeLookup } from './acme-challenge-responder.ts';
import { isMessage, METRICS_REPORT_MS, type PrimaryMessage, type WorkerMessage } from './cluster-messages.ts';
import { edgeCdnFrom } from './edge-cdn-config.ts';
import { listen } from './listen.ts';
import { createPublicListeners } from './public-listeners.ts';
import { closeGracefully } from './public-server.ts';
import { CertificateBook } from './tls-certificates.ts';

/** In-flight requests get this long to finish on shutdown (below the primary's wait). */
const DRAIN_TIMEOUT_MS = 20_000;
/** An ACME challenge lookup the primary has not answered by then fails (the CA retries). */
const CHALLENGE_TIMEOUT_MS = 5_000;

type Init = Extract<PrimaryMessage, { kind: 'init' }>;

/**
 * One serving process of the proxy (a `node:cluster` worker): the public
 * listeners and the edge proxy, with the route table, upstream health and
 * certificates the primary hands over. It never talks to Postgres: it sends
 * what it counted, suspect upstreams and ACME challenge lookups to the primary.
 */
export async function runEdgeWorker(): Promise<void> {
  const { init, setHandler } = await initialState();
  const { config } = init;
  const logger = createLogger({ name: 'proxy', level: config.PIER_LOG_LEVEL, format: config.PIER_LOG_FORMAT }).child({
    serving: process.pid,
  });
  const table = new RouteTable();
  const health = new SharedHealth((upstreamId) => send({ kind: 'suspect', upstreamId }));
  const metrics = new ProxyMetrics();
  const forwarder = new UndiciForwarder({ tunnelIdleTimeoutMs: config.PIER_PROXY_TUNNEL_IDLE_TIMEOUT_MS });
  const applyRoutes = (routes: Init['routes']) => {
    table.replace(routes); // the primary logs hostname conflicts once
    const upstreams = routes.flatMap((route) => route.upstreams);
    forwarder.retain(upstreams);
    // As the poller forgets an upstream that leaves the routes (it starts healthy if it comes back).
    health.retain(upstreams.map((upstream) => upstream.id));
  };
  applyRoutes(init.routes);
  health.reset(init.unhealthy);
  const book = new CertificateBook(init.fallback);
  book.replace(init.certificates);
  const challenges = new ChallengeRequests();
  const edge = new EdgeProxy({
    routes: table,
    health,
    forwarder,
    metrics,
    log: logger,
    // The caps are the proxy's: each serving process holds its share.
    maxTunnels: Math.ceil(config.PIER_PROXY_MAX_TUNNELS / config.PIER_PROXY_PROCESSES),
    maxTunnelsPerClient: Math.ceil(config.PIER_PROXY_MAX_TUNNELS_PER_CLIENT / config.PIER_PROXY_PROCESSES),
    cdn: edgeCdnFrom(config, 1 / config.PIER_PROXY_PROCESSES),
  });
  const { http, https } = createPublicListeners({ config, edge, table, book, challengeLookup: challenges.lookup });

  const report = () => send({ kind: 'metrics', buckets: metrics.takeBuckets(new Date()), totals: metrics.totals() });
  const reporter = setInterval(report, METRICS_REPORT_MS);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(reporter);
    void Promise.all([closeGracefully(http, edge, DRAIN_TIMEOUT_MS), closeGracefully(https, edge, DRAIN_TIMEOUT_MS)])
      .then(() => forwarder.close())
      .finally(() => {
        // The last counts, then exit once they are on their way (or at once without a primary).
        const last: WorkerMessage = { kind: 'metrics', buckets: metrics.takeBuckets(new Date()), totals: metrics.totals() };
        if (!process.connected || !process.send?.(last, () => process.exit(0))) process.exit(0);
      });
  };
  setHandler((message) => {
    switch (message.kind) {
      case 'routes':
        return applyRoutes(message.routes);
      case 'health':
        return health.set(message.upstreamId, message.healthy);
      case 'certificates':
        return void book.replace(message.certificates);
      case 'challenge-answer':
        return challenges.settle(message.id, message.answer, message.failed === true);
      case 'report':
        return report();
      case 'shutdown':
        return stop();
    }
  });
  // The primary went away (killed): finish what is in flight and go too.
  process.on('disconnect', stop);
  // systemd and a terminal signal the whole group: drain as the primary would ask.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    await Promise.all([
      listen(http, config.PIER_HTTP_PORT, config.PIER_PROXY_HOST, logger, 'http'),
      listen(https, config.PIER_HTTPS_PORT, config.PIER_PROXY_HOST, logger, 'https'),
    ]);
  } catch (err) {
    send({ kind: 'startup-error', message: (err as Error).message });
    process.exit(1);
  }
  send({ kind: 'listening' });
}

/**
 * Asks the primary for the state to start from. One listener takes every
 * message from the start: what arrives with or right after `init` (a health
 * change, a shutdown) waits in `early` for the handler, instead of going to
 * no listener while the start-up continues.
 */
function initialState(): Promise<{
  init: Init;
  early: PrimaryMessage[];
  setHandler: (handle: (m: PrimaryMessage) => void) => void;
}> {
  return new Promise((resolve) => {
    const early: PrimaryMessage[] = [];
    let handle: ((message: PrimaryMessage) => void) | null = null;
    const setHandler = (handler: (m: PrimaryMessage) => void) => {
      handle = handler;
      for (const message of early.splice(0)) handler(message);
    };
    process.on('message', (message: unknown) => {
      if (!isMessage<PrimaryMessage>(message)) return;
      if (message.kind === 'init') return resolve({ init: message, early, setHandler });
      if (handle) handle(message);
      else early.push(message);
    });
    send({ kind: 'hello' });
  });
}

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/** ACME HTTP-01 lookups, answered by the primary (which holds the database connection). */
class ChallengeRequests {
  readonly #pending = new Map<number, { resolve: (answer: string | null) => void; reject: (err: Error) => void }>();
  #nextId = 1;

  lookup: ChallengeLookup = (token, hostname) =>
    new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error('the proxy primary did not answer the challenge lookup'));
      }, CHALLENGE_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      send({ kind: 'challenge', id, token, hostname });
    });

  settle(id: number, answer: string | null, failed: boolean): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (failed) pending.reject(new Error('challenge lookup failed'));
    else pending.resolve(answer);
  }
}
