import { availableParallelism, loadavg } from 'node:os';
import { LABEL_RELEASE, LABEL_ROLE, type Workload, type WorkloadInstance } from '@pier/core';
import type { HostSampleRow, ReplicaSample, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, LABEL_PROCESS, ROLE_PROCESS, ROLE_WEB } from '../deploy/replica-spec.ts';
import { readHostSample } from '../events/host-sample.ts';
import { LeasedLoop } from '../worker-lease.ts';
import { type CpuTimes, cpuBusyShare, readCpuTimes } from './host-cpu.ts';
import { type CumulativeSample, replicaDelta } from './replica-deltas.ts';

const LEASE = 'metrics-collector';
/** Replicas sampled at once: each is one request to the Engine. */
const CONCURRENCY = 4;

export interface MetricsCollectorOptions {
  stores: Pick<Stores, 'metrics' | 'leases'>;
  workload: Pick<Workload, 'list' | 'stats'>;
  /** This installation's `pier.instance`: only its replicas are sampled (several may share one Engine). */
  instance: string;
  logger: Logger;
  /** How often replicas and the host are sampled (PIER_METRICS_INTERVAL_MS). Default a minute. */
  intervalMs?: number;
  /** Docker's data root, for the host's second disk (DockerRuntime.dataRoot). */
  dockerRoot?: () => Promise<string | null>;
  /** The host's name in host_metrics; default `local` (one machine). */
  node?: string;
  holder?: string;
  now?: () => Date;
}

/**
 * Samples every replica of this installation (`pier.role` web or process)
 * and the host each interval, in one worker at a time (the
 * `metrics-collector` lease): each replica's CPU time and network bytes since
 * its previous sample and its memory now (the Workload port's `stats`: the
 * Engine's one-shot statistics) into replica_metrics, and the host's CPU
 * busy share (/proc/stat between passes), memory, load and disks into
 * host_metrics. Cumulative counters are kept in memory between passes; a
 * worker that takes the lease over starts counting from its first pass.
 */
export class MetricsCollector {
  readonly #loop: LeasedLoop;
  #previous = new Map<string, CumulativeSample>();
  #previousPassAt: number | null = null;
  #cpu: CpuTimes | null = null;

  constructor(private readonly options: MetricsCollectorOptions) {
    const intervalMs = options.intervalMs ?? 60_000;
    this.#loop = new LeasedLoop(
      {
        name: LEASE,
        leases: options.stores.leases,
        intervalMs,
        // Three intervals long, at least 30 s: a worker that died stops sampling, another takes over.
        ttlMs: Math.max(3 * intervalMs, 30_000),
        holder: options.holder,
        logger: options.logger,
      },
      () => this.pass(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** One sample of every replica and of the host; nothing unless this worker holds the lease. Returns the replicas sampled. */
  async pass(): Promise<number> {
    if (!(await this.#loop.hold())) {
      this.#previous.clear(); // another worker samples: its counters, not these, are current
      this.#previousPassAt = null;
      return 0;
    }
    const now = (this.options.now ?? (() => new Date()))();
    const [samples] = await Promise.all([this.#sampleReplicas(now), this.#sampleHost(now)]);
    this.#previousPassAt = now.getTime();
    return samples;
  }

  async #sampleReplicas(now: Date): Promise<number> {
    const { workload, instance, stores } = this.options;
    const replicas = (await workload.list({ [LABEL_INSTANCE]: instance })).filter(
      (r) =>
        r.status === 'running' && [ROLE_WEB, ROLE_PROCESS].includes(r.labels[LABEL_ROLE] ?? '') && r.labels[LABEL_ENVIRONMENT_ID],
    );
    const samples: ReplicaSample[] = [];
    const seen = new Map<string, CumulativeSample>();
    for (let i = 0; i < replicas.length; i += CONCURRENCY) {
      const batch = replicas.slice(i, i + CONCURRENCY);
      const stats = await Promise.all(batch.map((r) => workload.stats(r.id).catch(() => null)));
      batch.forEach((replica, j) => {
        const current = stats[j];
        if (!current) return; // gone or stopped meanwhile
        const delta = replicaDelta(this.#previous.get(replica.id), current, replica.startedAt, this.#previousPassAt);
        seen.set(replica.id, {
          at: now.getTime(),
          cpuNanos: current.cpuNanos,
          rxBytes: current.rxBytes,
          txBytes: current.txBytes,
        });
        samples.push({
          ...identity(replica),
          ...delta,
          memoryBytes: current.memoryBytes,
          memoryLimitBytes: current.memoryLimitBytes,
        });
      });
    }
    this.#previous = seen; // replicas gone since are forgotten
    await stores.metrics.addReplicaSamples(samples, now);
    return samples.length;
  }

  async #sampleHost(now: Date): Promise<void> {
    const [host, cpu, dockerRoot] = await Promise.all([
      readHostSample({ dockerRoot: this.options.dockerRoot }),
      readCpuTimes(),
      this.options.dockerRoot?.().catch(() => null) ?? Promise.resolve(null),
    ]);
    const busy = cpuBusyShare(this.#cpu, cpu);
    this.#cpu = cpu;
    const [root, docker] = [host.disks[0], host.disks[1]];
    // Docker's data root on the same filesystem as `/` is reported once: then its figures are the root's.
    const dockerDisk = docker ?? (dockerRoot ? root : undefined);
    const [load1, load5, load15] = loadavg();
    const sample: HostSampleRow = {
      node: this.options.node ?? 'local',
      cpuBusy: busy,
      cpus: availableParallelism(),
      memoryTotalBytes: host.memoryTotalBytes,
      memoryAvailableBytes: host.memoryAvailableBytes,
      load1: load1 ?? 0,
      load5: load5 ?? 0,
      load15: load15 ?? 0,
      rootTotalBytes: root?.totalBytes ?? 0,
      rootFreeBytes: root?.freeBytes ?? 0,
      dockerTotalBytes: dockerDisk?.totalBytes ?? null,
      dockerFreeBytes: dockerDisk?.freeBytes ?? null,
    };
    await this.options.stores.metrics.addHostSample(sample, now);
  }
}

function identity(replica: WorkloadInstance): Pick<ReplicaSample, 'environmentId' | 'replica' | 'processType' | 'releaseId'> {
  return {
    environmentId: replica.labels[LABEL_ENVIRONMENT_ID] as string,
    replica: replica.name,
    processType: replica.labels[LABEL_PROCESS] ?? 'web',
    releaseId: replica.labels[LABEL_RELEASE] ?? null,
  };
}
