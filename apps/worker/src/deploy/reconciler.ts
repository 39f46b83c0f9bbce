import {
  createSecretMask,
  DEFAULT_PLAN_OPTIONS,
  LABEL_ROLE,
  PassLoop,
  plan,
  type ReconcileAction,
  WEB_PROCESS,
  type WorkloadInstance,
} from '@pier/core';
import type { ProcessExit, ReconcileTarget, ReplicaRow } from '@pier/db';
import { ReplicaEvents } from '../events/replica-events.ts';
import { workerHolder } from '../worker-lease.ts';
import { HealthGates } from './health-gates.ts';
import { sweepEmptyNetworks } from './network-sweep.ts';
import { ReconcilerLease } from './reconciler-lease.ts';
import type { ReconcilerOptions } from './reconciler-options.ts';
import { replicaSecrets } from './replica-config.ts';
import { prepareReplicas, tearDownReplica } from './replica-lifecycle.ts';
import { adoptUnattached, observeReplicas } from './replica-observation.ts';
import { environmentNetwork, LABEL_INSTANCE, ROLE_PROCESS, ROLE_WEB } from './replica-spec.ts';
import { appendRolloutLog, lastLogLines, rolloutFailureReason } from './rollout-report.ts';

export type { ReconcilerOptions };

/** Networks of deleted environments are looked for at most this often. */
const NETWORK_SWEEP_INTERVAL_MS = 60_000;

/**
 * The one controller of app replicas. Every pass, if it holds the lease, it
 * observes (Postgres: each environment's desired and live release and active
 * rollout; the runtime: every replica; its own health gates), asks the pure
 * planner (packages/core/src/reconcile-plan.ts) for the next steps, and
 * executes them: start, gate, serve, switch, fail, drain, remove, back off.
 * Long steps (a container start, a health gate, a stop with grace) run in the
 * background and mark their replica busy, so a pass never waits on them.
 * Unlabelled containers are never looked at.
 */
export class Reconciler {
  readonly #loop: PassLoop;
  readonly #gates: HealthGates;
  /** Replica ids (and container ids of orphans) with a start or removal under way. */
  readonly #busy = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #lease: ReconcilerLease;
  #soon: NodeJS.Timeout | undefined;
  #stopped = true;
  #lastNetworkSweep = 0;
  readonly #events: ReplicaEvents;

  constructor(private readonly options: ReconcilerOptions) {
    this.#gates = new HealthGates({
      releases: options.stores.releases,
      workload: options.workload,
      baseDomain: options.baseDomain,
      startPeriodMs: options.healthStartPeriodMs,
      onSettled: () => this.kick(),
    });
    this.#events = new ReplicaEvents(options.stores.events, options.plan?.crashLoopStreak);
    this.#lease = new ReconcilerLease({
      leases: options.stores.leases,
      holder: options.holder ?? workerHolder(),
      ttlMs: options.leaseMs,
      logger: options.logger,
      // The new holder alone acts: this worker's gates are abandoned.
      onLost: () => void this.#gates.abandon(),
    });
    this.#loop = new PassLoop({
      name: 'reconcile',
      // Every pass renews the lease: at least three passes fit in it.
      intervalMs: Math.min(options.intervalMs ?? 5000, this.#lease.ttlMs / 3),
      logger: options.logger,
      wakeOn: options.wakeOn,
      pass: () => this.reconcile(),
    });
  }

  /** The lease holder's name. */
  get holder(): string {
    return this.#lease.holder;
  }

  /** Whether the last pass held the lease. */
  get leading(): boolean {
    return this.#lease.leading;
  }

  start(): void {
    this.#stopped = false;
    this.#loop.start();
    this.#lease.start();
  }

  /** Stops the passes, abandons the health gates, waits for starts and removals under way, and gives the lease up. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#soon);
    await this.#loop.stop();
    await this.#gates.abandon();
    await Promise.allSettled([...this.#tasks]);
    await this.#lease.release();
  }

  /** A pass soon (after the one running). */
  kick(): void {
    this.#loop.kick();
  }

  /** Resolves when no pass runs. */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  /** One pass: the actions it planned (none when another reconciler holds the lease). */
  async reconcile(): Promise<ReconcileAction[]> {
    if (!(await this.#lease.renew())) {
      // Standing by: try again within a second, so a dead holder's lease is taken soon after it runs out.
      this.#passSoon();
      return [];
    }
    const { stores, workload, instance } = this.options;
    const [targets, rows, running] = await Promise.all([
      stores.environmentHealth.targets(),
      stores.replicas.all(),
      // Replicas of every process type; the one-off containers (release commands, runs) are not the reconciler's.
      workload
        .list({ [LABEL_INSTANCE]: instance })
        .then((all) => all.filter((c) => c.labels[LABEL_ROLE] === ROLE_WEB || c.labels[LABEL_ROLE] === ROLE_PROCESS)),
    ]);
    await adoptUnattached(stores.replicas, rows, running, this.#busy);
    this.#gates.keepOnly(new Set(rows.map((r) => r.id)), this.#busy);
    const now = new Date();
    const observed = observeReplicas(rows, running, { busy: this.#busy, gate: (id) => this.#gates.status(id) }, now);
    const actions = plan(targets, observed, { ...DEFAULT_PLAN_OPTIONS, ...this.options.plan, now });
    const context: PassContext = {
      targets: new Map(targets.map((t) => [t.environmentId, t])),
      rows: new Map(rows.map((r) => [r.id, r])),
      running: new Map(running.map((c) => [c.id, c])),
    };
    for (const action of actions) {
      if (!this.#lease.leading) break; // lost meanwhile: the new holder plans for itself
      try {
        await this.#execute(action, context);
      } catch (err) {
        this.options.logger.warn(
          { err, action: action.kind, environmentId: action.environmentId },
          'reconcile step failed; retried next pass',
        );
      }
    }
    await this.#events.failingHealth(rows, context.targets, now);
    if (now.getTime() - this.#lastNetworkSweep >= NETWORK_SWEEP_INTERVAL_MS) {
      this.#lastNetworkSweep = now.getTime();
      await this.sweepNetworks(new Set(targets.map((t) => environmentNetwork(t.appName, t.name))), now);
    }
    const underWay = targets.some((t) => t.rollout) || rows.some((r) => r.state !== 'serving') || this.#busy.size > 0;
    if (underWay) this.#passSoon();
    return actions;
  }

  /** Removes this installation's empty networks of deleted environments (network-sweep.ts). */
  sweepNetworks(live: ReadonlySet<string>, now = new Date()): Promise<void> {
    const { networks, logger, instance } = this.options;
    return sweepEmptyNetworks({ networks, instance, logger, minAgeMs: this.options.networkSweepAgeMs ?? 10 * 60_000 }, live, now);
  }

  async #execute(action: ReconcileAction, context: PassContext): Promise<void> {
    const { stores, logger } = this.options;
    switch (action.kind) {
      case 'start':
        return this.#start(action, context);
      case 'gate': {
        const row = context.rows.get(action.replicaId);
        const target = context.targets.get(action.environmentId);
        if (row && target) this.#gates.probe(row, target);
        return;
      }
      case 'serve':
        logger.info(
          { environmentId: action.environmentId, count: action.replicaIds.length },
          'replacement replicas healthy; serving',
        );
        await stores.replicas.serve(action.replicaIds);
        for (const id of action.replicaIds) this.#gates.forget(id);
        return;
      case 'switch':
        return this.#switch(action, context);
      case 'fail':
        return this.#fail(action, context);
      case 'drain':
        logger.info(
          { environmentId: action.environmentId, replicaId: action.replicaId, reason: action.reason },
          'draining replica',
        );
        await stores.replicas.drain([action.replicaId]);
        return;
      case 'remove':
        return this.#remove(action, context);
      case 'backoff': {
        logger.warn(
          {
            environmentId: action.environmentId,
            processType: action.processType ?? WEB_PROCESS,
            reason: action.reason,
            streak: action.restartStreak,
            nextRestartAt: action.nextRestartAt,
            crashLooping: action.crashLooping,
          },
          'replica ended; restarting after backoff',
        );
        const { wasLooping } = await stores.environmentHealth.backoff(action.environmentId, action.processType ?? WEB_PROCESS, {
          restartStreak: action.restartStreak,
          crashedAt: action.crashedAt,
          nextRestartAt: action.nextRestartAt,
          crashLooping: action.crashLooping,
          exit: crashExit(action),
        });
        await this.#events.crash({ ...action, wasLooping }, context.targets.get(action.environmentId));
        return;
      }
      case 'recovered':
        await stores.environmentHealth.recovered(action.environmentId, action.processType ?? WEB_PROCESS);
        return;
    }
  }

  /** Records each new replica, then starts its container in the background. */
  async #start(action: Extract<ReconcileAction, { kind: 'start' }>, context: PassContext): Promise<void> {
    const { stores, workload, logger } = this.options;
    const target = context.targets.get(action.environmentId);
    if (!target) return;
    const release = await stores.releases.get(action.releaseId);
    const processType = action.processType ?? WEB_PROCESS;
    const specs = await prepareReplicas(this.options, target, release, action.count, { processType });
    const what = `${action.count} replica${action.count === 1 ? '' : 's'} of release v${release.version}`;
    if (action.rolloutId) await this.#rolloutLog(target, [`starting ${what}`]);
    else logger.info({ app: target.appName, env: target.name, processType, count: action.count }, 'starting replicas');
    for (const spec of specs) {
      const row = await stores.replicas.add(target.environmentId, release.id, spec.name, {
        type: processType,
        memoryMb: Math.round(spec.limits.memoryBytes / 1024 / 1024),
        cpus: spec.limits.nanoCpus / 1e9,
      });
      this.#background(row.id, async () => {
        try {
          const started = await workload.run(spec);
          await stores.replicas.attach(row.id, started.id, started.address);
        } catch (err) {
          logger.warn({ err, replica: spec.name }, 'could not start a replica');
          this.#gates.fail(row.id, `the replica could not start: ${(err as Error).message}`);
        }
      });
    }
  }

  /** The rollout's replicas all passed: one transaction makes them serve and the release live. */
  async #switch(action: Extract<ReconcileAction, { kind: 'switch' }>, context: PassContext): Promise<void> {
    const { stores, logger } = this.options;
    const target = context.targets.get(action.environmentId);
    const draining = await stores.rollouts.succeed(action.rolloutId, action.replicaIds, 'all replicas healthy; traffic switched');
    for (const id of action.replicaIds) this.#gates.forget(id);
    if (!draining || !target) return;
    const release = await stores.releases.get(action.releaseId);
    if (action.replicaIds.length > 0) {
      await this.#rolloutLog(target, [
        'all replicas healthy; switching traffic',
        `live; draining ${draining.length} old replica(s)`,
      ]);
    } else {
      await this.#rolloutLog(target, [`release v${release.version} is already live`]);
    }
    logger.info(
      { deploymentId: target.rollout?.deploymentId, app: target.appName, env: target.name, release: release.version },
      'deployment live',
    );
  }

  /** A replica of the rollout failed its gate: the rollout and its deployment fail with the reason; the old release keeps serving. */
  async #fail(action: Extract<ReconcileAction, { kind: 'fail' }>, context: PassContext): Promise<void> {
    const { stores, workload, logger } = this.options;
    const target = context.targets.get(action.environmentId);
    const row = action.replicaId ? context.rows.get(action.replicaId) : undefined;
    const release = row ? await stores.releases.get(row.releaseId) : null;
    const reason = rolloutFailureReason({
      version: release?.version ?? null,
      gateReason: action.reason,
      responses: action.replicaId ? this.#gates.responses(action.replicaId) : [],
      logLines: row?.containerId ? await lastLogLines(workload, row.containerId) : [],
    });
    const mask = target
      ? createSecretMask(await replicaSecrets(stores, target.appId, target.environmentId, release ?? undefined))
      : (text: string) => text;
    // The new replicas go before the rollout is marked failed: a failed deployment leaves only the old release running.
    const rollout = target?.rollout;
    const abandoned = [...context.rows.values()].filter(
      (r) => r.environmentId === action.environmentId && r.state === 'starting' && r.releaseId === rollout?.toReleaseId,
    );
    await Promise.all(abandoned.map((r) => this.#removeNow(r)));
    const failed = await stores.rollouts.fail(action.rolloutId, mask(reason));
    if (!failed || !target) return;
    await appendRolloutLog(stores, target, [reason], { mask, maxBytes: this.options.logMaxBytes });
    logger.warn(
      { app: target.appName, env: target.name, release: release?.version },
      'rollout failed; the live release keeps serving',
    );
  }

  /** Takes a replica out of the route first, then stops (with grace, for a drained one) and removes its container. */
  async #remove(action: Extract<ReconcileAction, { kind: 'remove' }>, context: PassContext): Promise<void> {
    const { stores, logger } = this.options;
    const key = action.replicaId ?? action.containerId;
    if (!key) return;
    logger.info(
      {
        environmentId: action.environmentId,
        replicaId: action.replicaId,
        containerId: action.containerId,
        reason: action.reason,
      },
      'removing replica',
    );
    const containerId = action.containerId;
    this.#background(key, async () => {
      this.#gates.forget(key);
      if (action.replicaId) await stores.replicas.remove([action.replicaId]);
      if (!containerId) return;
      try {
        await tearDownReplica(this.options, containerId, {
          graceful: action.graceful,
          environmentGone: !context.targets.has(action.environmentId),
          labels: context.running.get(containerId)?.labels,
        });
      } catch (err) {
        // The container is left labelled and without a row: the next pass removes it as an orphan.
        logger.warn({ err, containerId }, 'could not remove a replica; will retry');
      }
    });
  }

  /** Removes a replica that takes no traffic (a starting one) at once: its row, its gate, its container. */
  async #removeNow(row: ReplicaRow): Promise<void> {
    this.#busy.add(row.id);
    try {
      this.#gates.forget(row.id);
      if (row.containerId) await this.options.workload.remove(row.containerId);
      await this.options.stores.replicas.remove([row.id]);
    } catch (err) {
      // What is left is removed by a later pass (a replica of a release no longer wanted, or an orphan).
      this.options.logger.warn({ err, replica: row.containerName }, 'could not remove a replica; will retry');
    } finally {
      this.#busy.delete(row.id);
    }
  }

  /** Runs `work` for `key` unless something already runs for it; the key is busy meanwhile. */
  #background(key: string, work: () => Promise<void>): void {
    if (this.#busy.has(key)) return;
    this.#busy.add(key);
    const task = work()
      .catch((err: unknown) => this.options.logger.warn({ err, key }, 'reconcile step failed'))
      .finally(() => {
        this.#busy.delete(key);
        this.#tasks.delete(task);
        this.kick();
      });
    this.#tasks.add(task);
  }

  #rolloutLog(target: ReconcileTarget, lines: string[]): Promise<void> {
    return appendRolloutLog(this.options.stores, target, lines, { maxBytes: this.options.logMaxBytes });
  }

  #passSoon(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.kick();
    }, this.options.activeIntervalMs ?? 1000);
  }
}

/** How the crashed replica ended, as the planner saw it. */
function crashExit(action: Extract<ReconcileAction, { kind: 'backoff' }>): ProcessExit | null {
  if (!action.reason) return null;
  return {
    at: action.crashedAt.toISOString(),
    exitCode: action.exitCode ?? null,
    oomKilled: action.oomKilled ?? false,
    memoryMb: action.memoryMb ?? null,
    reason: action.reason,
  };
}

interface PassContext {
  targets: Map<string, ReconcileTarget>;
  rows: Map<string, ReplicaRow>;
  running: Map<string, WorkloadInstance>;
}
