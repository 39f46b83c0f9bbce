import type { ContainerOperations, PlanOptions, Subscribe, Workload } from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';

/** What the reconciler (`reconciler.ts`) works with, and its timings. */
export interface ReconcilerOptions {
  stores: Pick<
    Stores,
    | 'apps'
    | 'environments'
    | 'environmentHealth'
    | 'processes'
    | 'volumes'
    | 'replicas'
    | 'releases'
    | 'services'
    | 'variables'
    | 'rollouts'
    | 'leases'
    | 'deployments'
    | 'events'
  >;
  /** App replicas: started, gated, stopped and removed here and nowhere else. */
  workload: Workload;
  /** Each environment's network, made before its first replica and swept after the environment is gone. */
  networks: Pick<ContainerOperations, 'ensureNetwork' | 'removeNetwork' | 'listNetworks' | 'ensureVolume'>;
  /** Only replicas labelled with this installation are looked at. */
  instance: string;
  /** The installation's base domain (PIER_BASE_DOMAIN): health probes send each environment's generated hostname. */
  baseDomain: string;
  /** Nothing listening on a new replica's port for this long fails its gate early: default 30 s (tests shorten it). */
  healthStartPeriodMs?: number;
  logger: Logger;
  /** How often a pass runs when nothing is under way (a rollout, a gate, a start, a drain): default 5 s. */
  intervalMs?: number;
  /** How often while something is under way: default 1 s. */
  activeIntervalMs?: number;
  plan?: Partial<Omit<PlanOptions, 'now'>>;
  /**
   * An empty network of a deleted environment is removed once it is this old
   * (default 10 minutes): younger, it may belong to an environment created
   * after this pass read the environments, about to start its replicas.
   */
  networkSweepAgeMs?: number;
  /** The lease that makes one reconciler of many the one that acts: default 15 s, renewed every pass. */
  leaseMs?: number;
  /** Names this reconciler in the lease; default host, pid and a random suffix. */
  holder?: string;
  /** Notifications that call for a pass at once (a rollout began). */
  wakeOn?: Subscribe;
  /** Bytes of a deployment's log written here at most (PIER_DEPLOYMENT_LOG_MAX_MB). */
  logMaxBytes?: number;
}
