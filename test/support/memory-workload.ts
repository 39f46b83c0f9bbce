import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type ContainerSpec,
  LABEL_APP,
  type LogEntry,
  type LogOptions,
  NotFoundError,
  type ReplicaStats,
  ValidationError,
  type Workload,
  type WorkloadInstance,
} from '@pier/core';
import { KILLED, MemoryReplica, type Program } from './memory-replica.ts';

export { KILLED, type Program, type ProgramLine, type ProgramRequest, type ProgramResponse } from './memory-replica.ts';

export interface MemoryWorkloadOptions {
  /** What a replica does, by its spec's image: the whole reference (`pier/web:abc`) or, failing that, its name without the tag (`pier/web`). */
  programs: Record<string, Program>;
  /** Real time per second of grace given to `stop`: 1 waits real seconds, 0.01 makes 10 s of grace 100 ms. Default 1. */
  graceScale?: number;
}

/** A replica as `instances()` shows it: also its spec, and whether it has been removed. */
export interface MemoryInstance extends WorkloadInstance {
  spec: ContainerSpec;
  removed: boolean;
}

/** Docker's rule for container names, which the fake keeps so that a bad name fails here as it would there. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * The Workload port in memory, for tests: each replica is a program run in
 * this process (see `Program`), with an HTTP server on a free 127.0.0.1 port
 * as its address. It keeps the port's contract, checked by the same
 * conformance suite as DockerWorkload (test/conformance/workload.ts), so that
 * planner and reconciler tests run in milliseconds without Docker. Ids are
 * looked up exactly (not by name or prefix, which Docker also accepts).
 */
export class MemoryWorkload implements Workload {
  readonly #programs: Map<string, Program>;
  readonly #graceScale: number;
  /** Every replica ever run, in order; removed ones stay, marked. */
  readonly #replicas: MemoryReplica[] = [];
  /** Use set by `setStats`, by replica id. */
  readonly #stats = new Map<string, Partial<ReplicaStats>>();

  constructor(options: MemoryWorkloadOptions) {
    this.#programs = new Map(Object.entries(options.programs));
    this.#graceScale = options.graceScale ?? 1;
  }

  /** Adds (or replaces) the program of an image, e.g. for a release built during the test. */
  define(image: string, program: Program): void {
    this.#programs.set(image, program);
  }

  async run(spec: ContainerSpec): Promise<WorkloadInstance> {
    checkSpec(spec);
    const program = this.#program(spec.image);
    if (this.#live().some((replica) => replica.spec.name === spec.name)) {
      throw new ConflictError(`cannot create container ${spec.name}: the name is already in use`);
    }
    const replica = new MemoryReplica(randomBytes(32).toString('hex'), spec, program, this.#graceScale);
    // Listed before it has started, so that a concurrent run of the same name is refused.
    this.#replicas.push(replica);
    try {
      await replica.start();
    } catch (error) {
      replica.exit(1);
      this.#replicas.splice(this.#replicas.indexOf(replica), 1);
      throw new Error(`container ${spec.name} did not start: ${(error as Error).message}`, { cause: error });
    }
    return replica.instance();
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
      throw new ValidationError(`graceSeconds must be a whole number ≥ 0, not ${graceSeconds}`, 'graceSeconds');
    }
    await this.#find(id)?.stop(graceSeconds);
  }

  /** Kills it if it runs (as Docker's forced removal does) and forgets it. */
  async remove(id: string): Promise<void> {
    const replica = this.#find(id);
    if (!replica) return;
    replica.exit(KILLED);
    replica.removed = true;
    replica.wake();
  }

  async list(labels: Record<string, string>): Promise<WorkloadInstance[]> {
    const wanted = Object.entries(labels);
    return this.#live()
      .filter((replica) => replica.spec.labels[LABEL_APP] && wanted.every(([key, value]) => replica.spec.labels[key] === value))
      .map((replica) => replica.instance());
  }

  async inspect(id: string): Promise<WorkloadInstance | null> {
    return this.#find(id)?.instance() ?? null;
  }

  async *logs(id: string, options: LogOptions): AsyncGenerator<LogEntry> {
    const { tail, since, follow, signal } = options;
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
      throw new ValidationError(`tail must be a whole number ≥ 0, not ${tail}`, 'tail');
    }
    const replica = this.#find(id);
    if (!replica) throw new NotFoundError(`container ${id} does not exist`);
    if (signal?.aborted) return;
    const written = replica.entries.filter((entry) => !since || (entry.at?.getTime() ?? 0) >= since.getTime());
    yield* tail === undefined ? written : written.slice(Math.max(0, written.length - tail));
    if (!follow) return;
    let next = replica.entries.length;
    for (;;) {
      while (next < replica.entries.length && !signal?.aborted) yield replica.entries[next++] as LogEntry;
      if (replica.status === 'exited' || replica.removed || signal?.aborted) return;
      await replica.changed(signal);
    }
  }

  /**
   * A running replica's use: what `setStats` gave it, else 16 MiB of memory,
   * its spec's limit, and a millisecond of CPU per second it has run.
   */
  async stats(id: string): Promise<ReplicaStats | null> {
    const replica = this.#find(id);
    if (replica?.status !== 'running') return null;
    const ranMs = Date.now() - (replica.startedAt?.getTime() ?? Date.now());
    return {
      cpuNanos: Math.round(ranMs * 1_000),
      memoryBytes: 16 * 1024 * 1024,
      memoryLimitBytes: replica.spec.limits.memoryBytes ?? null,
      rxBytes: 0,
      txBytes: 0,
      ...this.#stats.get(id),
    };
  }

  /** Makes `stats` report these figures for a replica (cumulative ones as they are given). */
  setStats(id: string, stats: Partial<ReplicaStats>): void {
    this.#stats.set(id, { ...this.#stats.get(id), ...stats });
  }

  /** Every replica ever run, in order, removed ones too: how many ran, with what spec, and how each ended. */
  instances(): MemoryInstance[] {
    return this.#replicas.map((replica) => ({ ...replica.instance(), spec: replica.spec, removed: replica.removed }));
  }

  /** Simulates a crash: the replica exits with `exitCode` at once and its server closes. */
  kill(id: string, exitCode = KILLED): void {
    const replica = this.#find(id);
    if (!replica) throw new NotFoundError(`container ${id} does not exist`);
    replica.exit(exitCode);
  }

  /** Simulates the kernel's OOM killer: the replica exits 137 at once, reported with `oomKilled`. */
  outOfMemory(id: string): void {
    const replica = this.#find(id);
    if (!replica) throw new NotFoundError(`container ${id} does not exist`);
    replica.outOfMemory();
  }

  /** Ends every replica still running (killed), closing their servers. */
  close(): void {
    for (const replica of this.#replicas) replica.exit(KILLED);
  }

  #program(image: string): Program {
    const untagged = image.replace(/:[^:/]*$/, '');
    const program = this.#programs.get(image) ?? this.#programs.get(untagged);
    if (!program) throw new NotFoundError(`cannot create container: no such image: ${image}`);
    return program;
  }

  #live(): MemoryReplica[] {
    return this.#replicas.filter((replica) => !replica.removed);
  }

  #find(id: string): MemoryReplica | undefined {
    return this.#live().find((replica) => replica.id === id);
  }
}

/** What Docker (and DockerContainers) refuse before anything starts. */
function checkSpec(spec: ContainerSpec): void {
  if (!CONTAINER_NAME.test(spec.name))
    throw new ValidationError(`container name ${JSON.stringify(spec.name)} is not valid`, 'name');
  if (spec.image.trim() === '') throw new ValidationError('image must not be empty', 'image');
  if (!spec.labels[LABEL_APP]) {
    throw new ValidationError(`a container needs the ${LABEL_APP} label: Pier only ever manages labelled containers`, 'labels');
  }
  const port = spec.containerPort;
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new ValidationError(`containerPort must be a port number (1-65535), not ${port}`, 'containerPort');
  }
}
