import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ProxyConfig } from '@pier/config';
import type { Route } from '@pier/core';
import type { Logger } from '@pier/log';
import type { ClusterMetrics } from '@pier/proxy';
import type { ChallengeLookup } from './acme-challenge-responder.ts';
import { isMessage, PRIMARY_ONLY, type PrimaryMessage, servingConfig, type WorkerMessage } from './cluster-messages.ts';
import type { LoadedCertificate } from './tls-certificates.ts';

export interface EdgeClusterOptions {
  config: ProxyConfig;
  /** How many serving processes to keep running. */
  processes: number;
  /** The self-signed certificate for hostnames without one, the same in every process. */
  fallback: { cert: string; key: string };
  /** The state a new process starts from. */
  routes: () => Route[];
  unhealthy: () => string[];
  certificates: () => LoadedCertificate[];
  challengeLookup?: ChallengeLookup;
  /** A serving process could not connect to an upstream. */
  onSuspect: (upstreamId: string) => void;
  metrics: ClusterMetrics;
  log: Logger;
}

/** A serving process that keeps dying is started again after 1 s, doubling up to 30 s. */
const RESTART_DELAY_MS = { first: 1_000, max: 30_000 };
/** One that lived this long was not crash-looping: its replacement starts at once. */
const STABLE_AFTER_MS = 10_000;
/** `refresh` waits this long at most for each process's report. */
const REPORT_TIMEOUT_MS = 1_000;
/** Startup: every process listening within this, or the proxy fails to start. */
const START_TIMEOUT_MS = 30_000;

/** The serving processes' entry point, next to this file (TypeScript from source, JavaScript when built). */
function edgeEntry(): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.mjs';
  return fileURLToPath(new URL(`./edge-process${extension}`, import.meta.url));
}

/**
 * The processes that serve the public listeners (`node:cluster` workers
 * sharing the ports), run by the proxy's first process. That process keeps
 * the one route table, certificate set and health poller and hands every
 * change to each of them; they send back what they counted and the checks
 * they need (a suspect upstream, an ACME challenge). One that dies is
 * replaced; the others keep their connections meanwhile.
 */
export class EdgeCluster {
  readonly #options: EdgeClusterOptions;
  readonly #workers = new Set<Worker>();
  /** Who waits for each process's next metrics report. */
  readonly #reportWaiters = new Map<Worker, Array<() => void>>();
  #stopping = false;
  #restartDelayMs = 0;

  constructor(options: EdgeClusterOptions) {
    this.#options = options;
    cluster.setupPrimary({ exec: edgeEntry(), execArgv: process.execArgv, serialization: 'advanced' });
  }

  /** Pids of the serving processes (for reports and tests). */
  get pids(): number[] {
    return [...this.#workers].flatMap((worker) => (worker.process.pid ? [worker.process.pid] : []));
  }

  /** Starts every process; resolves once all listen, rejects with the first one's startup error. */
  async start(): Promise<void> {
    const started = Array.from({ length: this.#options.processes }, () => this.#fork());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`serving processes did not listen within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([Promise.all(started), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Hands a change to every serving process. */
  broadcast(message: PrimaryMessage): void {
    for (const worker of this.#workers) send(worker, message);
  }

  /** Asks every process for its counts now, and resolves once each has sent them (or a second passed). */
  async refresh(): Promise<void> {
    const reports = [...this.#workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, REPORT_TIMEOUT_MS);
          const waiters = this.#reportWaiters.get(worker) ?? [];
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
          this.#reportWaiters.set(worker, waiters);
          send(worker, { kind: 'report' });
        }),
    );
    await Promise.all(reports);
  }

  /** Asks every process to drain and stop; those still running after `timeoutMs` are killed. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const exits = [...this.#workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), timeoutMs);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          send(worker, { kind: 'shutdown' });
        }),
    );
    await Promise.all(exits);
  }

  /** Starts one serving process; resolves once it listens. */
  #fork(): Promise<void> {
    const { log, metrics } = this.#options;
    // Its environment without the database's and the certificate keys' secrets (fork adds to the parent's: blanked).
    const worker = cluster.fork(Object.fromEntries(PRIMARY_ONLY.map((name) => [name, ''])));
    const startedAt = Date.now();
    this.#workers.add(worker);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (!isMessage<WorkerMessage>(message)) return;
        switch (message.kind) {
          case 'hello':
            return send(worker, this.#initial());
          case 'listening':
            return resolve();
          case 'startup-error':
            return reject(new Error(message.message));
          case 'suspect':
            return this.#options.onSuspect(message.upstreamId);
          case 'challenge':
            return this.#answerChallenge(worker, message);
          case 'metrics':
            metrics.report(worker.id, message.buckets, message.totals);
            return this.#reported(worker);
        }
      });
      worker.on('error', (err) => log.warn({ err, pid: worker.process.pid }, 'serving process channel error'));
      worker.once('exit', (code, signal) => {
        this.#workers.delete(worker);
        metrics.ended(worker.id);
        this.#reported(worker);
        reject(new Error(`serving process exited (${signal ?? code}) before listening`));
        if (this.#stopping) return;
        log.error({ pid: worker.process.pid, code, signal }, 'a serving process ended; starting another');
        this.#replace(Date.now() - startedAt >= STABLE_AFTER_MS);
      });
    });
  }

  #reported(worker: Worker): void {
    const waiters = this.#reportWaiters.get(worker);
    this.#reportWaiters.delete(worker);
    for (const resolve of waiters ?? []) resolve();
  }

  #replace(wasStable: boolean): void {
    this.#restartDelayMs = wasStable
      ? 0
      : Math.min(RESTART_DELAY_MS.max, Math.max(RESTART_DELAY_MS.first, this.#restartDelayMs * 2));
    const timer = setTimeout(() => {
      if (this.#stopping) return;
      this.#fork().catch((err: unknown) => this.#options.log.error({ err }, 'a replacement serving process failed to start'));
    }, this.#restartDelayMs);
    timer.unref();
  }

  #initial(): PrimaryMessage {
    const { config, fallback } = this.#options;
    return {
      kind: 'init',
      config: servingConfig(config),
      fallback,
      routes: this.#options.routes(),
      unhealthy: this.#options.unhealthy(),
      certificates: this.#options.certificates(),
    };
  }

  #answerChallenge(worker: Worker, request: Extract<WorkerMessage, { kind: 'challenge' }>): void {
    const lookup = this.#options.challengeLookup;
    const answered = lookup ? lookup(request.token, request.hostname) : Promise.resolve(null);
    answered.then(
      (answer) => send(worker, { kind: 'challenge-answer', id: request.id, answer }),
      (err: unknown) => {
        this.#options.log.warn({ err }, 'ACME challenge lookup failed');
        send(worker, { kind: 'challenge-answer', id: request.id, answer: null, failed: true });
      },
    );
  }
}

/** A process that is exiting misses the message; its replacement gets the whole state when it starts. */
function send(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}
