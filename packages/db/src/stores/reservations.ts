import { DEFAULT_PROCESS_MEMORY_MB, MANAGED_SERVICE_MEMORY_MB } from '@pier/core';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { environmentProcesses, replicas } from '../schema.ts';

const MiB = 1024 * 1024;

/** What is reserved already, by what holds it, in bytes of memory limits. */
export interface Reserved {
  /** Replicas starting, serving or draining (a draining one still holds its memory). */
  replicas: number;
  /** Managed Postgres and Redis containers (every service but a failed one). */
  services: number;
  /** Builds running (a prebuilt image's pull runs no build container). */
  builds: number;
  /** One-off and cron runs running. */
  runs: number;
  total: number;
}

/** One process type's replicas and memory as the environment sets them (null: the default). */
export interface ProcessReservation {
  replicas: number | null;
  memoryMb: number | null;
}

/**
 * The capacity guard's reserved sum, from Postgres: the memory limits of
 * everything Pier runs or is about to, whichever worker started it. A limit
 * not recorded (replicas started before limits were kept, runs without
 * their own) counts as the default's 512 MiB.
 */
export class ReservationStore {
  constructor(private readonly db: Db) {}

  /**
   * Reserved memory; `buildMemoryBytes` is each running build's (PIER_BUILD_MEMORY_MB: not kept per build).
   * The build or run of `except` is left out: the request being weighed, already marked running.
   */
  async reserved(options: { buildMemoryBytes: number; except?: { deploymentId?: string; runId?: string } }): Promise<Reserved> {
    const { deploymentId, runId } = options.except ?? {};
    const otherBuild = deploymentId ? sql`and id <> ${deploymentId}` : sql``;
    const otherRun = runId ? sql`and id <> ${runId}` : sql``;
    const [row] = await this.db.execute<{ replica_mb: number; services: number; builds: number; run_mb: number }>(sql`
      select
        (select coalesce(sum(coalesce(memory_mb, ${DEFAULT_PROCESS_MEMORY_MB})), 0)
           from replicas where state in ('starting', 'serving', 'draining'))::bigint as replica_mb,
        (select count(*) from managed_services where state <> 'failed')::bigint as services,
        (select count(*) from deployments where state = 'building' and image is null ${otherBuild})::bigint as builds,
        (select coalesce(sum(coalesce(memory_mb, ${DEFAULT_PROCESS_MEMORY_MB})), 0)
           from runs where state = 'running' ${otherRun})::bigint as run_mb`);
    const replicas = Number(row?.replica_mb ?? 0) * MiB;
    const services = Number(row?.services ?? 0) * MANAGED_SERVICE_MEMORY_MB * MiB;
    const builds = Number(row?.builds ?? 0) * options.buildMemoryBytes;
    const runs = Number(row?.run_mb ?? 0) * MiB;
    return { replicas, services, builds, runs, total: replicas + services + builds + runs };
  }

  /** The replicas and memory each process type of the environment has set (types without a row are absent). */
  async processes(environmentId: string): Promise<Map<string, ProcessReservation>> {
    const rows = await this.db
      .select({
        type: environmentProcesses.type,
        replicas: environmentProcesses.replicas,
        memoryMb: environmentProcesses.memoryMb,
      })
      .from(environmentProcesses)
      .where(eq(environmentProcesses.environmentId, environmentId));
    return new Map(rows.map((row) => [row.type, { replicas: row.replicas, memoryMb: row.memoryMb }]));
  }

  /** The memory limits, in MiB, of the environment's live replicas (starting, serving, draining), by process type. */
  async liveMemoryMbByType(environmentId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .select({
        type: replicas.processType,
        memoryMb: sql<number>`coalesce(sum(coalesce(${replicas.memoryMb}, ${DEFAULT_PROCESS_MEMORY_MB})), 0)::int`,
      })
      .from(replicas)
      .where(and(eq(replicas.environmentId, environmentId), inArray(replicas.state, ['starting', 'serving', 'draining'])))
      .groupBy(replicas.processType);
    return new Map(rows.map((row) => [row.type, Number(row.memoryMb)]));
  }

  /**
   * The memory limit, in MiB, of a new replica of the type, as the worker
   * will give it (process-limits.ts): the type's own (set through the API),
   * else the `resources` of the environment's live (or desired) release,
   * else the default.
   */
  async memoryMbOf(environmentId: string, type: string): Promise<number> {
    const [own] = await this.db
      .select({ memoryMb: environmentProcesses.memoryMb })
      .from(environmentProcesses)
      .where(and(eq(environmentProcesses.environmentId, environmentId), eq(environmentProcesses.type, type)));
    if (own?.memoryMb) return own.memoryMb;
    const [release] = await this.db.execute<{ memory_mb: number | null }>(sql`
      select (r.settings -> 'resources' -> 'value' ->> 'memoryMb')::int as memory_mb
      from environments e join releases r on r.id = coalesce(e.live_release_id, e.desired_release_id)
      where e.id = ${environmentId}`);
    return release?.memory_mb ?? DEFAULT_PROCESS_MEMORY_MB;
  }
}
