import {
  backoffDelay,
  ConflictError,
  type ContainerInfo,
  type ContainerOperations,
  DEFAULT_PLAN_OPTIONS,
  type DesiredEnvironment,
  LABEL_APP,
  LABEL_ENV,
  LABEL_RELEASE,
  LABEL_ROLE,
  type ObservedReplica,
  type PlanOptions,
  plan,
  type ReconcileAction,
} from '@pier/core';
import type { Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { environmentNetwork, LABEL_ENVIRONMENT_ID, LABEL_INSTANCE } from './replica-spec.ts';
import { gate, removeReplicas, startReplica } from './rolling-deploy.ts';

export interface ReconcilerOptions {
  stores: Pick<Stores, 'apps' | 'environments' | 'environmentHealth' | 'replicas' | 'releases' | 'services'>;
  containers: ContainerOperations;
  /** Only containers labelled with this installation are looked at. */
  instance: string;
  logger: Logger;
  /** How often Docker is compared with Postgres. */
  intervalMs?: number;
  plan?: Partial<Omit<PlanOptions, 'now'>>;
  /**
   * An empty network of a deleted environment is removed once it is this old
   * (default 10 minutes): younger, it may belong to a rollout of an environment
   * created after this pass read the environments, about to start its replicas.
   */
  networkSweepAgeMs?: number;
}

/** Networks of deleted environments are looked for at most this often. */
const NETWORK_SWEEP_INTERVAL_MS = 60_000;

/**
 * Makes Docker match Postgres, on start and every few seconds: replaces
 * crashed and persistently unhealthy replicas (with backoff), stops drained
 * and scaled-down ones, removes Pier-labelled containers nothing wants.
 * Unlabelled containers are never looked at.
 */
export class Reconciler {
  #timer: NodeJS.Timeout | null = null;
  #tick: Promise<void> = Promise.resolve();
  readonly #starting = new Set<string>();
  readonly #background = new Set<Promise<void>>();
  #lastNetworkSweep = 0;

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    this.kick();
    this.#timer = setInterval(() => this.kick(), this.options.intervalMs ?? 5000);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#tick;
    await Promise.allSettled([...this.#background]);
  }

  /** Runs one pass unless one is running. */
  kick(): void {
    this.#tick = this.#tick
      .then(async () => {
        await this.reconcile();
      })
      .catch((err) => this.options.logger.warn({ err }, 'reconcile pass failed'));
  }

  async reconcile(): Promise<ReconcileAction[]> {
    const { stores, containers } = this.options;
    const [targets, rows, running] = await Promise.all([
      stores.environmentHealth.targets(),
      stores.replicas.all(),
      containers.listContainers({ [LABEL_ROLE]: 'web', [LABEL_INSTANCE]: this.options.instance }),
    ]);
    const now = new Date();
    const desired: DesiredEnvironment[] = targets.map((t) => ({
      ...t,
      deployInProgress: t.deployInProgress || this.#starting.has(t.environmentId),
    }));
    const actions = plan(desired, observe(rows, running, now), { ...DEFAULT_PLAN_OPTIONS, ...this.options.plan, now });
    const existing = new Set(targets.map((t) => t.environmentId));
    const containersById = new Map(running.map((c) => [c.id, c]));
    for (const action of actions) {
      // A deleted environment (a closed pull request's preview) leaves its network behind too.
      const gone = action.kind === 'remove' && !action.replicaId && !existing.has(action.environmentId) && action.containerId;
      const container = gone ? containersById.get(gone) : undefined;
      if (container) await this.removeWithNetwork(container);
      else await this.execute(action);
    }
    if (now.getTime() - this.#lastNetworkSweep >= NETWORK_SWEEP_INTERVAL_MS) {
      this.#lastNetworkSweep = now.getTime();
      const live = new Set(targets.map((t) => environmentNetwork(t.appName, t.name)));
      await this.sweepNetworks(live, now);
    }
    return actions;
  }

  /**
   * Removes this installation's empty networks (no running container) of
   * environments that no longer exist, unless an environment of that network
   * name exists again: a pull request closed while its preview's first rollout was only
   * starting leaves a network no container leads back to.
   */
  async sweepNetworks(live: ReadonlySet<string>, now = new Date()): Promise<void> {
    const { containers, logger, instance } = this.options;
    const minAge = this.options.networkSweepAgeMs ?? 10 * 60_000;
    try {
      for (const network of await containers.listNetworks({ [LABEL_INSTANCE]: instance })) {
        // By name, not by the environment id on its label: a re-created environment of the same name
        // (a reopened pull request) uses the network again.
        if (!network.labels[LABEL_ENVIRONMENT_ID] || live.has(network.name) || network.containers > 0) continue;
        if (now.getTime() - network.createdAt.getTime() < minAge) continue;
        logger.info({ network: network.name }, 'removing the empty network of a deleted environment');
        await containers.removeNetwork(network.name).catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err; // a container joined meanwhile
        });
      }
    } catch (err) {
      logger.warn({ err }, 'could not sweep the networks of deleted environments; will retry');
    }
  }

  private async execute(action: ReconcileAction): Promise<void> {
    const { stores, logger } = this.options;
    switch (action.kind) {
      case 'remove':
        logger.info(
          { environmentId: action.environmentId, containerId: action.containerId, reason: action.reason },
          'removing replica',
        );
        if (action.containerId) await this.removeContainer(action.containerId);
        if (action.replicaId) await stores.replicas.remove([action.replicaId]);
        return;
      case 'drain':
        logger.info(
          { environmentId: action.environmentId, replicaId: action.replicaId, reason: action.reason },
          'draining replica',
        );
        await stores.replicas.drain([action.replicaId]);
        return;
      case 'backoff':
        logger.warn(
          {
            environmentId: action.environmentId,
            streak: action.restartStreak,
            nextRestartAt: action.nextRestartAt,
            crashLooping: action.crashLooping,
          },
          'replica crashed; restarting after backoff',
        );
        await stores.environmentHealth.backoff(
          action.environmentId,
          action.restartStreak,
          action.crashedAt,
          action.nextRestartAt,
          action.crashLooping,
        );
        return;
      case 'recovered':
        await stores.environmentHealth.recovered(action.environmentId);
        return;
      case 'start':
        this.startInBackground(action.environmentId, action.releaseId, action.count);
        return;
    }
  }

  /** Replacement replicas join rotation once healthy; a failed one counts as a crash on the next pass. */
  private startInBackground(environmentId: string, releaseId: string, count: number): void {
    this.#starting.add(environmentId);
    const task = this.startReplacements(environmentId, releaseId, count)
      .catch((err) => this.options.logger.warn({ err, environmentId }, 'could not start replacement replicas'))
      .finally(() => {
        this.#starting.delete(environmentId);
        this.#background.delete(task);
      });
    this.#background.add(task);
  }

  private async startReplacements(environmentId: string, releaseId: string, count: number): Promise<void> {
    const { stores, containers, logger } = this.options;
    const release = await stores.releases.get(releaseId);
    const env = await stores.environments.byId(environmentId);
    const app = await stores.apps.byId(env.appId);
    const injection = await stores.services.injection(environmentId);
    const input = {
      app: app.name,
      env: env.name,
      environmentId,
      release,
      config: { ...stores.releases.config(release), ...injection.variables },
      networks: injection.networks,
      health: stores.releases.health(release),
      log: () => {},
    };
    const deps = { containers, replicas: stores.replicas, logger, instance: this.options.instance };
    logger.info({ app: app.name, env: env.name, count }, 'starting replacement replicas');
    const started = await Promise.all(Array.from({ length: count }, () => startReplica(deps, input)));
    const checks = await Promise.all(started.map((replica) => gate(deps, input, replica)));
    await stores.replicas.serve(checks.filter((c) => c.healthy).map((c) => c.replica.id));
    const failed = checks.filter((c) => !c.healthy).map((c) => c.replica);
    if (failed.length === 0) return;
    // A replacement that never gets healthy is a crash like any other: remove it, back off further.
    await removeReplicas(deps, failed, 0);
    const streak = env.restartStreak + 1;
    const options = { ...DEFAULT_PLAN_OPTIONS, ...this.options.plan };
    const crashedAt = new Date();
    const nextRestartAt = new Date(crashedAt.getTime() + backoffDelay(streak, options));
    await stores.environmentHealth.backoff(environmentId, streak, crashedAt, nextRestartAt, streak >= options.crashLoopStreak);
    logger.warn({ app: app.name, env: env.name, streak, nextRestartAt }, 'replacement replica never got healthy; backing off');
  }

  /**
   * Removes a container of an environment that no longer exists, and the environment's network with it:
   * stop, remove the network, then the container. Docker removes a network whose containers are all stopped,
   * and refuses (ConflictError) while one runs: another replica of the same environment, removed next, or a
   * re-created environment of the same name, which keeps it. Any other failure keeps the container for the
   * next pass, so a crash anywhere leaves a labelled container that leads back to the network.
   */
  private async removeWithNetwork(container: ContainerInfo): Promise<void> {
    const { containers, logger } = this.options;
    const app = container.labels[LABEL_APP];
    const env = container.labels[LABEL_ENV];
    logger.info({ containerId: container.id, app, env }, 'removing replica: its environment no longer exists');
    try {
      await containers.stopContainer(container.id, 10);
      if (app && env) {
        await containers.removeNetwork(environmentNetwork(app, env)).catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
        });
      }
      await containers.removeContainer(container.id);
    } catch (err) {
      logger.warn(
        { err, containerId: container.id },
        'could not remove the container or network of a deleted environment; will retry',
      );
    }
  }

  private async removeContainer(containerId: string): Promise<void> {
    try {
      await this.options.containers.stopContainer(containerId, 10);
      await this.options.containers.removeContainer(containerId);
    } catch (err) {
      this.options.logger.warn({ err, containerId }, 'could not remove container; will retry');
    }
  }
}

/** Joins replica rows with the labelled containers Docker reports. */
export function observe(
  rows: Awaited<ReturnType<Stores['replicas']['all']>>,
  containers: ContainerInfo[],
  now: Date,
): ObservedReplica[] {
  const byId = new Map(containers.map((c) => [c.id, c]));
  // By id and by name: a container started a moment ago may not have its id recorded yet.
  const known = new Set(rows.flatMap((r) => (r.containerId ? [r.containerId, r.containerName] : [r.containerName])));
  const observed: ObservedReplica[] = rows.map((row) => {
    const container = row.containerId ? byId.get(row.containerId) : containers.find((c) => c.name === row.containerName);
    return {
      replicaId: row.id,
      containerId: row.containerId,
      environmentId: row.environmentId,
      releaseId: row.releaseId,
      state: row.state,
      container: container ? (container.status === 'running' ? 'running' : 'stopped') : 'missing',
      healthy: row.healthy,
      unhealthyForMs: row.unhealthySince ? now.getTime() - row.unhealthySince.getTime() : 0,
      ageMs: now.getTime() - row.updatedAt.getTime(),
    };
  });
  for (const container of containers) {
    if (known.has(container.id) || known.has(container.name)) continue;
    const environmentId = container.labels[LABEL_ENVIRONMENT_ID];
    if (!environmentId) continue;
    observed.push({
      replicaId: null,
      containerId: container.id,
      environmentId,
      releaseId: container.labels[LABEL_RELEASE] ?? '',
      state: null,
      container: container.status === 'running' ? 'running' : 'stopped',
      healthy: false,
      unhealthyForMs: 0,
      ageMs: container.startedAt ? now.getTime() - container.startedAt.getTime() : 0,
    });
  }
  return observed;
}
