import type { ContainerSpec, LogEntry, LogOptions } from './container-runtime.ts';

/**
 * Where a replica answers: what the runtime reported, used as it is by the
 * health gate and the proxy. On one Docker Engine a loopback address and a
 * published port; on a cluster a node's address and the port its task
 * publishes.
 */
export interface Address {
  host: string;
  port: number;
}

export type WorkloadStatus = 'starting' | 'running' | 'exited';

/** One replica as the runtime sees it. */
export interface WorkloadInstance {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: WorkloadStatus;
  /** Set once it has exited. */
  exitCode: number | null;
  /**
   * It was killed for going past its memory limit (the kernel's OOM killer in
   * its cgroup), not a crash of its own: "out of memory at 512 MiB" is what a
   * user can act on. False while it runs and for every other exit.
   */
  oomKilled: boolean;
  startedAt: Date | null;
  /** Where `spec.containerPort` is reached, while it runs; null otherwise or when nothing is published. */
  address: Address | null;
}

/**
 * A replica's use as its runtime counts it: CPU time and network bytes since
 * it started (cumulative: the collector takes differences), memory now.
 */
export interface ReplicaStats {
  /** CPU time used since it started, nanoseconds. */
  cpuNanos: number;
  /** Memory in use without the page cache (what the kernel cannot simply drop), bytes. */
  memoryBytes: number;
  /** Its memory limit, bytes; null when it has none. */
  memoryLimitBytes: number | null;
  /** Bytes received and sent over all its networks since it started. */
  rxBytes: number;
  txBytes: number;
}

/**
 * Port: app replicas. The one thing the reconciler starts and stops, kept
 * narrow so that a second runtime (a cluster) is one more adapter and the
 * reconciler is tested against an in-memory fake. What managed services need
 * besides (networks, volumes, exec) is `ContainerOperations`. Contract:
 * - `run` starts a replica from `spec` and resolves once it has started, with
 *   its id and address. It refuses (ValidationError) a spec without the
 *   `pier.app` label; a taken name is a ConflictError; an image the runtime
 *   does not have is a NotFoundError. A replica that could not start leaves
 *   nothing behind.
 * - `stop` asks it to exit (SIGTERM), and ends it after `graceSeconds`; one
 *   already stopped or gone is fine. `remove` ends and forgets it; gone is
 *   fine.
 * - `list` returns the replicas (in every status) carrying the `pier.app`
 *   label and every label in `labels`; `inspect` one, or null when gone.
 *   A replica killed for going past `spec.limits.memoryBytes` is `exited`
 *   with `oomKilled` true (its exit code is the kill's, 137); any other exit,
 *   a stop's kill included, has `oomKilled` false.
 * - `logs` yields its output lines in order within each stream; with
 *   `follow` it ends when the replica exits or `signal` aborts. A missing one
 *   is a NotFoundError.
 * - `stats` samples a running replica's use once (`ReplicaStats`); null when
 *   it is gone or not running.
 */
export interface Workload {
  run(spec: ContainerSpec): Promise<WorkloadInstance>;
  stop(id: string, graceSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  list(labels: Record<string, string>): Promise<WorkloadInstance[]>;
  inspect(id: string): Promise<WorkloadInstance | null>;
  logs(id: string, options: LogOptions): AsyncIterable<LogEntry>;
  stats(id: string): Promise<ReplicaStats | null>;
}

/** `http://host:port/path`, with an IPv6 host in brackets. */
export function addressUrl(address: Address, path: string): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}${path.startsWith('/') ? path : `/${path}`}`;
}
