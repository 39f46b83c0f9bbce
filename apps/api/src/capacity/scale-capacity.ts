import { type CapacityCheck, type CapacityRequest, ConflictError } from '@pier/core';

const MiB = 1024 * 1024;

export interface ScaleUp {
  app: string;
  env: string;
  /** The process type scaled (`web` for the environment's replicas). */
  type: string;
  from: number;
  to: number;
  /** Each new replica's memory limit. */
  memoryMb: number;
  /** The request field named in the refusal, e.g. `body.replicas`. */
  field: string;
  /** The app (and environment) whose event log records a refusal. */
  subject?: CapacityRequest['subject'];
}

/**
 * Refuses (ConflictError, 409, before anything is written) a scale-up whose
 * new replicas' memory limits the host cannot hold, naming the figures. A
 * scale-down, no change, or no guard (`capacity` undefined) passes. For
 * `PATCH …/environments/:env { replicas }` and `PATCH …/processes/:type`.
 */
export async function assertScaleFits(capacity: CapacityCheck | undefined, scale: ScaleUp): Promise<void> {
  if (!capacity || scale.to <= scale.from) return;
  const decision = await capacity.check({
    kind: 'scale',
    action: `scaling ${scale.type} of ${scale.app}-${scale.env} from ${scale.from} to ${scale.to} replicas of ${scale.memoryMb} MiB`,
    memoryBytes: (scale.to - scale.from) * scale.memoryMb * MiB,
    subject: scale.subject,
  });
  if (!decision.ok) throw new ConflictError(`${scale.field}: ${decision.reason}`);
}
