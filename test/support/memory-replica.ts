import { createServer as createHttpServer, Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import type { Address, ContainerSpec, LogEntry, WorkloadInstance, WorkloadStatus } from '@pier/core';

export interface ProgramRequest {
  method: string;
  /** The request target, e.g. `/health?x=1`. */
  path: string;
  headers: IncomingHttpHeaders;
}

export interface ProgramResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A line a program writes: a bare string goes to stdout. */
export type ProgramLine = string | { stream: LogEntry['stream']; line: string };

/**
 * What a replica of MemoryWorkload does, chosen by its spec's image. Every
 * field is optional: `{}` runs quietly until stopped, with nothing listening.
 */
export interface Program {
  /**
   * Answers each HTTP request at the replica's address (when the spec
   * publishes a port); `env` is the spec's env, with PORT set to
   * `containerPort` unless the spec set it. Absent: nothing listens.
   */
  serve?: (request: ProgramRequest, env: Record<string, string>) => ProgramResponse | Promise<ProgramResponse>;
  /** false: never listens, although it has `serve`. The port is published all the same: a connection is accepted and closed at once, as Docker's proxy does. */
  listens?: boolean;
  /** Written at start, in order. */
  logs?: ProgramLine[];
  /** Pause between two of `logs`, ms; default 0 (all at start). */
  logGapMs?: number;
  /** Exits on its own this long after it starts (0: at once, just after `run` resolves), with `exitCode`. Absent: runs until stopped. */
  exitAfterMs?: number;
  /** Exit code of an exit on its own; default 0. */
  exitCode?: number;
  /** Written when SIGTERM arrives. */
  termLogs?: ProgramLine[];
  /** On SIGTERM, drains this long (still serving) before it exits 0; killed at the grace if that is shorter. Default 0. */
  termDelayMs?: number;
  /** SIGTERM does nothing: `stop` kills it (exit 137) once the grace has passed. */
  ignoresSigterm?: boolean;
  /**
   * Allocates this many MiB just after it starts: past the spec's memory
   * limit it is killed out of memory (exit 137, `oomKilled`), as the kernel
   * does; within it nothing happens.
   */
  allocatesMb?: number;
}

/** Something a program does at a time, ms after it started. */
interface Timed {
  at: number;
  run: () => void;
}

/** The exit code of a process ended by SIGKILL, as Docker reports it. */
export const KILLED = 137;
const LOOPBACK = '127.0.0.1';

/**
 * One replica of MemoryWorkload: a program run in this process, its HTTP
 * server on a free loopback port, its log and its timers. It exits once (on
 * its own, by signal, or killed), closing its server.
 */
export class MemoryReplica {
  status: WorkloadStatus = 'starting';
  exitCode: number | null = null;
  oomKilled = false;
  startedAt: Date | null = null;
  address: Address | null = null;
  removed = false;
  readonly entries: LogEntry[] = [];
  readonly env: Record<string, string>;
  readonly exited: Promise<void>;
  #server: Server | undefined;
  #terminated = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<() => void>();
  #markExited: () => void = () => {};

  constructor(
    readonly id: string,
    readonly spec: ContainerSpec,
    readonly program: Program,
    /** Real time per second of grace. */
    readonly graceScale: number,
  ) {
    const port: Record<string, string> = spec.containerPort === null ? {} : { PORT: String(spec.containerPort) };
    this.env = { ...port, ...spec.env };
    this.exited = new Promise((resolve) => {
      this.#markExited = resolve;
    });
  }

  /** Listens (when the spec publishes a port), then runs: writes its first lines and schedules the rest and its own exit. */
  async start(): Promise<void> {
    if (this.spec.containerPort !== null) this.address = await this.listen();
    this.status = 'running';
    this.startedAt = new Date();
    const gap = this.program.logGapMs ?? 0;
    const lines: Timed[] = (this.program.logs ?? []).map((line, index) => ({ at: index * gap, run: () => this.write(line) }));
    for (const line of lines.filter((timed) => timed.at === 0)) line.run();
    const later = lines.filter((timed) => timed.at > 0);
    const { exitAfterMs } = this.program;
    if (exitAfterMs !== undefined) later.push({ at: exitAfterMs, run: () => this.exit(this.program.exitCode ?? 0) });
    const { allocatesMb } = this.program;
    if (allocatesMb !== undefined && allocatesMb * 1024 * 1024 > this.spec.limits.memoryBytes) {
      later.push({ at: 1, run: () => this.outOfMemory() });
    }
    // Stable: a line due when it exits is written first.
    this.play(
      later.sort((a, b) => a.at - b.at),
      0,
    );
  }

  /** SIGTERM, then the kill once the grace has passed; resolves when it has exited. */
  async stop(graceSeconds: number): Promise<void> {
    if (this.status === 'exited') return;
    if (!this.program.ignoresSigterm && !this.#terminated) {
      this.#terminated = true;
      for (const line of this.program.termLogs ?? []) this.write(line);
      const drain = this.program.termDelayMs ?? 0;
      if (drain === 0) this.exit(0);
      else this.after(drain, () => this.exit(0));
    }
    if (!this.hasExited()) this.after(graceSeconds * 1000 * this.graceScale, () => this.exit(KILLED));
    await this.exited;
  }

  /** Ends it now with `exitCode`: its server closes, followers of its log end. Once only. */
  exit(exitCode: number): void {
    if (this.status === 'exited') return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.status = 'exited';
    this.exitCode = exitCode;
    this.address = null;
    this.#server?.close();
    // Open connections end too, as they do when a process exits.
    if (this.#server instanceof HttpServer) this.#server.closeAllConnections();
    this.#markExited();
    this.wake();
  }

  /** The kernel's OOM killer: ended at once (137), marked as out of memory. */
  outOfMemory(): void {
    if (this.status === 'exited') return;
    this.oomKilled = true;
    this.exit(KILLED);
  }

  hasExited(): boolean {
    return this.status === 'exited';
  }

  instance(): WorkloadInstance {
    return {
      id: this.id,
      name: this.spec.name,
      labels: { ...this.spec.labels },
      status: this.status,
      exitCode: this.exitCode,
      oomKilled: this.oomKilled,
      startedAt: this.startedAt,
      address: this.address ? { ...this.address } : null,
    };
  }

  /** Resolves at the next line, exit or removal, or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  private write(line: ProgramLine): void {
    const entry = typeof line === 'string' ? { stream: 'stdout' as const, line } : line;
    this.entries.push({ ...entry, at: new Date() });
    this.wake();
  }

  /**
   * Runs `events` at their times (ms after start; `now` is the time of the
   * last one run) as one chain of timers: Node does not keep the order of
   * overdue timers of different durations, and a busy test machine makes them
   * overdue, so that separate timers could exit before the last line.
   */
  private play(events: Timed[], now: number): void {
    const [next, ...rest] = events;
    if (!next) return;
    this.after(next.at - now, () => {
      next.run();
      if (!this.hasExited()) this.play(rest, next.at);
    });
  }

  private after(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }

  /** A server on a free loopback port: the program's, or one that closes every connection when nothing listens. */
  private async listen(): Promise<Address> {
    const { serve, listens } = this.program;
    const server = serve && listens !== false ? this.httpServer(serve) : createTcpServer((socket) => socket.destroy());
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error(`replica ${this.spec.name} has no TCP address`);
    return { host: LOOPBACK, port: bound.port };
  }

  private httpServer(serve: NonNullable<Program['serve']>): HttpServer {
    return createHttpServer(async (request, response) => {
      try {
        const answer = await serve(
          { method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers },
          this.env,
        );
        response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.body);
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      }
    });
  }
}
