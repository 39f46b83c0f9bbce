import { z } from 'zod';

/**
 * Every job Pier queues, by name, with the schema of its payload. Payloads
 * carry ids only, never secrets: whatever a job needs it reads from Postgres.
 * Checked when a job is added and again when it is consumed.
 */
export const JOB_CATALOG = {
  /** Fetch the commit and build its image. */
  build: z.strictObject({ deploymentId: z.uuid() }),
  /** Roll the built image out as a new release. */
  deploy: z.strictObject({ deploymentId: z.uuid() }),
} as const;

export type JobName = keyof typeof JOB_CATALOG;
export type JobPayload<N extends JobName> = z.output<(typeof JOB_CATALOG)[N]>;

export const JOB_NAMES = Object.keys(JOB_CATALOG) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_CATALOG, name);
}

/** Throws when `payload` is not what job `name` takes. */
export function parseJobPayload<N extends JobName>(name: N, payload: unknown): JobPayload<N> {
  const result = JOB_CATALOG[name].safeParse(payload);
  if (!result.success) {
    throw new Error(
      `job ${name}: invalid payload: ${result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  }
  return result.data as JobPayload<N>;
}
