import { type ConnectionOptions, DelayedError, type Job, Queue, Worker } from 'bullmq';
import { type JobName, type JobPayload, parseJobPayload } from './job-catalog.ts';

/** One BullMQ queue per job name: builds and deploys are consumed with different concurrency. */
export function queueName(job: JobName): string {
  return `pier-${job}`;
}

export interface QueueOptions {
  connection: ConnectionOptions;
  /** Redis key prefix; tests give each file its own. */
  prefix?: string;
}

/** Adds jobs; the job id is the deployment id, so adding twice is a no-op while the first exists. */
export class JobQueue {
  readonly #queues = new Map<JobName, Queue>();

  constructor(private readonly options: QueueOptions) {}

  async add<N extends JobName>(name: N, payload: JobPayload<N>, jobId: string): Promise<void> {
    const data = parseJobPayload(name, payload);
    await this.queue(name).add(name, data, {
      jobId,
      attempts: 3,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  /** True when BullMQ still knows the job (waiting, active, delayed, or kept after finishing). */
  async has(name: JobName, jobId: string): Promise<boolean> {
    return (await this.queue(name).getJob(jobId)) !== undefined;
  }

  queue(name: JobName): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(queueName(name), { connection: this.options.connection, prefix: this.options.prefix });
      queue.on('error', () => {}); // connection errors surface on add(); the relay retries
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }
}

export interface JobContext {
  job: Job;
  /** Puts the job back for `delayMs` without counting an attempt (e.g. the environment is busy). */
  retryLater(delayMs: number): Promise<never>;
}

export interface ConsumerOptions extends QueueOptions {
  concurrency: number;
  /** How long a job may run without its lock renewed before it counts as stalled (worker died). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** Consumes one job name; payloads are checked against the catalog before the handler sees them. */
export function consumeJobs<N extends JobName>(
  name: N,
  handler: (payload: JobPayload<N>, ctx: JobContext) => Promise<void>,
  options: ConsumerOptions,
): Worker {
  return new Worker(
    queueName(name),
    async (job, token) => {
      const payload = parseJobPayload(name, job.data);
      const retryLater = async (delayMs: number): Promise<never> => {
        await job.moveToDelayed(Date.now() + delayMs, token);
        throw new DelayedError();
      };
      await handler(payload, { job, retryLater });
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: options.stalledIntervalMs ?? 15_000,
      maxStalledCount: 2,
    },
  );
}
