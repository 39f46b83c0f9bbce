import { type ContainerInfo, type ContainerOperations, NotFoundError, PassLoop } from '@pier/core';
import { type LeaseStore, type LogCursor, type LogStore, rejectedBatchState } from '@pier/db';
import type { Logger } from '@pier/log';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';
import { LogBatcher } from './log-batcher.ts';
import { engineNanos, type LogSource, logSourceOf } from './log-source.ts';

const LEASE = 'log-collector';
/** A longer line is stored cut, with a marker: a hostile app cannot make a row (or the worker's memory) large. */
export const MAX_LINE_BYTES = 16 * 1024;

export interface LogCollectorOptions {
  containers: Pick<ContainerOperations, 'listContainers' | 'containerLogs' | 'inspectContainer'>;
  logs: Pick<LogStore, 'append' | 'openCursors' | 'finishedContainers'>;
  leases: Pick<LeaseStore, 'acquire' | 'release'>;
  /** Names this worker in the lease. */
  holder: string;
  /** This installation's containers only (PIER_INSTANCE). */
  instance: string;
  logger: Logger;
  /** How often containers are looked for: a replica that crashes right after it started is still found while it runs. */
  discoverIntervalMs?: number;
  /** A batch is written at this many lines, or `flushMs` after its first line. */
  batchLines?: number;
  flushMs?: number;
  leaseMs?: number;
  maxLineBytes?: number;
  /**
   * The mask each line of a container passes through before it is stored
   * (`OneOffMasks`: a one-off container's output masked with its
   * environment's secrets). None: stored as read.
   */
  masks?: { maskOf(source: LogSource): Promise<(text: string) => string> };
}

interface Follower {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * The log collector: follows the stdout/stderr of every container Pier runs
 * for apps (replicas, release commands, one-off and cron runs) into the log
 * store, tagged with environment, replica, process type and release.
 *
 * Every `discoverIntervalMs` it lists this installation's containers and
 * follows each one it does not follow yet, from its cursor (`log_cursors`:
 * the engine's timestamp of the last line stored, saved in the same
 * transaction as the lines), skipping what is at or before it: a worker that
 * restarts neither loses nor repeats lines. A container that stopped and
 * was read to its end is marked finished and not followed again. One
 * collector acts at a time across workers (the `log-collector` lease, renewed
 * by each pass and on a beat of its own); one that loses it stops following
 * at once.
 */
export class LogCollector {
  readonly #loop: PassLoop;
  readonly #followers = new Map<string, Follower>();
  /** Containers read to their end (known from Postgres or by this collector). */
  readonly #finished = new Set<string>();
  #cursors: Map<string, LogCursor> | null = null;
  #batcher: LogBatcher;
  #leading = false;
  #renewal: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: LogCollectorOptions) {
    this.#batcher = this.#newBatcher();
    this.#loop = new PassLoop({
      name: 'log collector',
      intervalMs: options.discoverIntervalMs ?? 500,
      logger: options.logger,
      pass: () => this.#pass(),
    });
  }

  start(): void {
    this.#loop.start();
    // The lease is renewed on a beat of its own too, so a pass slowed by the engine (a long container list)
    // does not let it run out while this worker's followers keep writing, and another worker start again.
    this.#renewal ??= setInterval(() => void this.#renew(), Math.max(500, (this.options.leaseMs ?? 10_000) / 3));
  }

  /** Stops following, writes what was read, and gives the lease up. */
  async stop(): Promise<void> {
    clearInterval(this.#renewal);
    this.#renewal = undefined;
    await this.#loop.stop();
    await this.#stopFollowing();
    if (this.#leading) await this.options.leases.release(LEASE, this.options.holder).catch(() => {});
    this.#leading = false;
  }

  /** Containers followed now (for tests and the bench). */
  get following(): number {
    return this.#followers.size;
  }

  /** Writes the lines gathered so far (tests). */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  /** Renews the lease while this worker leads; a lease found lost stops every follower at once. */
  async #renew(): Promise<void> {
    if (!this.#leading) return;
    const { leases, holder, logger } = this.options;
    const held = await leases.acquire(LEASE, holder, this.options.leaseMs ?? 10_000).catch(() => true);
    if (held || !this.#leading) return;
    logger.warn({ holder }, 'log collector lease lost: another worker collects logs');
    this.#leading = false;
    await this.#stopFollowing();
  }

  async #pass(): Promise<void> {
    const { leases, holder, logger } = this.options;
    const leading = await leases.acquire(LEASE, holder, this.options.leaseMs ?? 10_000).catch((err) => {
      logger.warn({ err }, 'could not renew the log collector lease');
      return false;
    });
    if (!leading) {
      if (this.#leading) logger.warn({ holder }, 'log collector lease lost: another worker collects logs');
      this.#leading = false;
      await this.#stopFollowing();
      return;
    }
    if (!this.#leading) logger.info({ holder }, 'log collector lease taken: this worker collects logs');
    this.#leading = true;
    this.#cursors ??= await this.options.logs.openCursors();
    // One list request a pass (no inspect per container): names and labels are all it needs.
    const containers = await this.options.containers.listContainers(
      { [LABEL_INSTANCE]: this.options.instance },
      { summary: true },
    );
    const fresh = containers.filter((c) => !this.#followers.has(c.id) && !this.#finished.has(c.id) && logSourceOf(c));
    if (fresh.length === 0) return;
    for (const id of await this.options.logs.finishedContainers(fresh.map((c) => c.id))) this.#finished.add(id);
    for (const container of fresh) {
      if (this.#finished.has(container.id)) continue;
      this.#follow(container, logSourceOf(container) as LogSource);
    }
  }

  #follow(container: ContainerInfo, source: LogSource): void {
    const abort = new AbortController();
    const done = this.#read(container.id, source, abort.signal)
      .catch((err) => this.options.logger.warn({ err, container: container.name }, 'could not read a container’s logs'))
      .finally(() => this.#followers.delete(container.id));
    this.#followers.set(container.id, { abort, done });
  }

  /** Follows one container from its cursor to its end (or until aborted), then marks it finished. */
  async #read(id: string, source: LogSource, signal: AbortSignal): Promise<void> {
    const cursor = this.#cursors?.get(id);
    let since = cursor?.since ?? null;
    const after = since ? engineNanos(since) : null;
    const base = { containerId: id, environmentId: source.environmentId };
    try {
      const mask = (await this.options.masks?.maskOf(source)) ?? ((text: string) => text);
      const entries = this.options.containers.containerLogs(id, {
        follow: true,
        signal,
        maxLineBytes: this.options.maxLineBytes ?? MAX_LINE_BYTES,
        ...(since ? { sinceTime: since } : {}),
      });
      const { environmentId, source: kind, processType, replica, releaseId } = source;
      for await (const entry of entries) {
        // Only the first lines after a resume can be at or before the cursor: compared exactly, to the nanosecond.
        if (after !== null && entry.time && (engineNanos(entry.time) ?? after + 1n) <= after) continue;
        if (entry.time) since = entry.time;
        const cursor = { ...base, since };
        const line = { environmentId, at: entry.at ?? new Date(), source: kind, processType, replica, releaseId };
        const room = this.#batcher.add({ ...line, stream: entry.stream, line: mask(entry.line) }, cursor);
        if (room) await room;
        this.#cursors?.set(id, cursor);
      }
    } catch (err) {
      // Removed before (or while) it was read: nothing more can be.
      if (!(err instanceof NotFoundError)) throw err;
    }
    if (signal.aborted) return;
    // The stream ends when the container stops; one that still runs (the engine's stream broke) is followed again.
    const now = await this.options.containers.inspectContainer(id);
    if (now && (now.status === 'running' || now.status === 'restarting' || now.status === 'created')) return;
    this.#batcher.mark({ ...base, since, finished: true });
    this.#finished.add(id);
    this.#cursors?.delete(id);
  }

  async #stopFollowing(): Promise<void> {
    const followers = [...this.#followers.values()];
    for (const follower of followers) follower.abort.abort();
    await Promise.all(followers.map((f) => f.done));
    await this.#batcher.stop();
    this.#batcher = this.#newBatcher();
    // Another collector may have moved the cursors on meanwhile: read them again when leading again.
    this.#cursors = null;
  }

  #newBatcher(): LogBatcher {
    return new LogBatcher({
      store: this.options.logs,
      batchLines: this.options.batchLines ?? 1000,
      flushMs: this.options.flushMs ?? 200,
      onError: (err) => this.options.logger.warn({ err }, 'could not store log lines; retrying'),
      isRejected: (err) => rejectedBatchState(err) !== undefined,
      // The error's query would carry the lines: only its SQLSTATE is logged.
      onDropped: (err, lines) =>
        this.options.logger.warn({ sqlState: rejectedBatchState(err), lines }, 'log lines Postgres refused were dropped'),
    });
  }
}
