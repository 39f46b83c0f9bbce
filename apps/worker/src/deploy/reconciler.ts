import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  addressUrl,
  ConflictError,
  type ContainerOperations,
  createSecretMask,
  DEFAULT_PLAN_OPTIONS,
  type GateStatus,
  LABEL_APP,
  LABEL_ENV,
  LABEL_RELEASE,
  LABEL_ROLE,
  type ObservedReplica,
  PassLoop,
  type PlanOptions,
  plan,
  type ReconcileAction,
  type Subscribe,
  type Workload,
  type WorkloadInstance,
} from '@pier/core';
import type { ReconcileTarget, ReplicaRow, Stores } from '@pier/db';
import type { Logger } from '@pier/log';
import { DeploymentLogWriter } from '../deployment-log-writer.ts';
import { waitUntilHealthy } from './health-gate.ts';
import { replicaConfig, replicaSecrets } from './replica-config.ts';
import { environmentNetwork, LABEL_ENVIRONMENT_ID, LABEL_INSTANCE, replicaSpec } from './replica-spec.ts';

export interface ReconcilerOptions {
  stores: Pick<
    Stores,
    | 'apps'
    | 'environments'
    | 'environmentHealth'
    | 'replicas'
    | 'releases'
    | 'services'
    | 'variables'
    | 'rollouts'
    | 'leases'
    | 'deployments'
  >;
  /** App replicas: started, gated, stopped and removed here and nowhere else. */
  workload: Workload;
  /** Each environment's network, made before its first replica and swept after the environment is gone. */
  networks: Pick<ContainerOperations, 'ensureNetwork' | 'removeNetwork' | 'listNetworks'>;
  /** Only replicas labelled with this installation are looked at. */
  instance: string;
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

const LEASE = 'reconciler';
const DEFAULT_LEASE_MS = 15_000;
/** Networks of deleted environments are looked for at most this often. */
const NETWORK_SWEEP_INTERVAL_MS = 60_000;
/** SIGTERM, then SIGKILL after this long, for a drained replica. */
const STOP_GRACE_SECONDS = 10;

interface Gate {
  status: GateStatus;
  responses: string[];
  abort: AbortController;
}

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
  readonly #holder: string;
  readonly #gates = new Map<string, Gate>();
  /** Replica ids (and container ids of orphans) with a start or removal under way. */
  readonly #busy = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  #leading = false;
  #soon: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #stopped = true;
  /** Set by stop(): a renewal still on its way then takes nothing. */
  #released = false;
  #lastNetworkSweep = 0;

  constructor(private readonly options: ReconcilerOptions) {
    this.#holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#loop = new PassLoop({
      name: 'reconcile',
      // Every pass renews the lease: at least three passes fit in it, so one slow pass does not lose it.
      intervalMs: Math.min(options.intervalMs ?? 5000, (options.leaseMs ?? DEFAULT_LEASE_MS) / 3),
      logger: options.logger,
      wakeOn: options.wakeOn,
      pass: () => this.reconcile(),
    });
  }

  /** The lease holder's name. */
  get holder(): string {
    return this.#holder;
  }

  /** Whether the last pass held the lease. */
  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#stopped = false;
    this.#released = false;
    this.#loop.start();
    // The lease is renewed on its own beat too: a pass slowed by a loaded machine must not lose it mid-start.
    this.#heartbeat = setInterval(() => {
      if (this.#leading) void this.#lead();
    }, this.#leaseMs / 3);
  }

  get #leaseMs(): number {
    return this.options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Stops the passes, abandons the health gates, waits for starts and removals under way, and gives the lease up. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#released = true;
    clearTimeout(this.#soon);
    clearInterval(this.#heartbeat);
    await this.#loop.stop();
    for (const gate of this.#gates.values()) gate.abort.abort();
    await Promise.allSettled([...this.#tasks]);
    this.#gates.clear();
    if (this.#leading) {
      this.#leading = false;
      await this.options.stores.leases.release(LEASE, this.#holder).catch(() => {});
    }
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
    if (!(await this.#lead())) {
      // Standing by: try again within a second, so a dead holder's lease is taken soon after it runs out.
      this.#passSoon();
      return [];
    }
    const { stores, workload, instance } = this.options;
    const [targets, rows, running] = await Promise.all([
      stores.environmentHealth.targets(),
      stores.replicas.all(),
      workload.list({ [LABEL_ROLE]: 'web', [LABEL_INSTANCE]: instance }),
    ]);
    await this.#adoptUnattached(rows, running);
    // Gates of replicas gone some other way (their environment deleted) are forgotten.
    const ids = new Set(rows.map((r) => r.id));
    for (const [id, gate] of this.#gates) {
      if (ids.has(id) || this.#busy.has(id)) continue;
      gate.abort.abort();
      this.#gates.delete(id);
    }
    const now = new Date();
    const observed = this.#observe(rows, running, now);
    const actions = plan(targets, observed, { ...DEFAULT_PLAN_OPTIONS, ...this.options.plan, now });
    const context: PassContext = {
      targets: new Map(targets.map((t) => [t.environmentId, t])),
      rows: new Map(rows.map((r) => [r.id, r])),
      running: new Map(running.map((c) => [c.id, c])),
    };
    for (const action of actions) {
      if (!this.#leading) break; // lost meanwhile: the new holder plans for itself
      try {
        await this.#execute(action, context);
      } catch (err) {
        this.options.logger.warn(
          { err, action: action.kind, environmentId: action.environmentId },
          'reconcile step failed; retried next pass',
        );
      }
    }
    if (now.getTime() - this.#lastNetworkSweep >= NETWORK_SWEEP_INTERVAL_MS) {
      this.#lastNetworkSweep = now.getTime();
      await this.sweepNetworks(new Set(targets.map((t) => environmentNetwork(t.appName, t.name))), now);
    }
    const underWay = targets.some((t) => t.rollout) || rows.some((r) => r.state !== 'serving') || this.#busy.size > 0;
    if (underWay) this.#passSoon();
    return actions;
  }

  /**
   * Removes this installation's empty networks (no running container) of
   * environments that no longer exist, unless an environment of that network
   * name exists again: a pull request closed while its preview's first
   * rollout was only starting leaves a network no container leads back to.
   */
  async sweepNetworks(live: ReadonlySet<string>, now = new Date()): Promise<void> {
    const { networks, logger, instance } = this.options;
    const minAge = this.options.networkSweepAgeMs ?? 10 * 60_000;
    try {
      for (const network of await networks.listNetworks({ [LABEL_INSTANCE]: instance })) {
        // By name, not by the environment id on its label: a re-created environment of the same name
        // (a reopened pull request) uses the network again.
        if (!network.labels[LABEL_ENVIRONMENT_ID] || live.has(network.name) || network.containers > 0) continue;
        if (now.getTime() - network.createdAt.getTime() < minAge) continue;
        logger.info({ network: network.name }, 'removing the empty network of a deleted environment');
        await networks.removeNetwork(network.name).catch((err: unknown) => {
          if (!(err instanceof ConflictError)) throw err; // a container joined meanwhile
        });
      }
    } catch (err) {
      logger.warn({ err }, 'could not sweep the networks of deleted environments; will retry');
    }
  }

  /** Takes or renews the lease; on losing it, abandons the gates so that the new holder alone acts. */
  async #lead(): Promise<boolean> {
    const { stores, logger } = this.options;
    let leading = false;
    try {
      leading = !this.#released && (await stores.leases.acquire(LEASE, this.#holder, this.#leaseMs));
      if (leading && this.#released) {
        // stop() gave the lease up while this renewal was on its way: give it up again.
        await stores.leases.release(LEASE, this.#holder);
        leading = false;
      }
    } catch (err) {
      logger.warn({ err }, 'could not renew the reconciler lease');
    }
    if (leading && !this.#leading) logger.info({ holder: this.#holder }, 'reconciler lease taken: this worker runs the replicas');
    if (!leading && this.#leading) {
      logger.warn({ holder: this.#holder }, 'reconciler lease lost: another worker runs the replicas');
      for (const gate of this.#gates.values()) gate.abort.abort();
      this.#gates.clear();
    }
    this.#leading = leading;
    return leading;
  }

  /** A replica whose start was cut short after its container ran, but before it was recorded, is recorded now. */
  async #adoptUnattached(rows: ReplicaRow[], running: WorkloadInstance[]): Promise<void> {
    for (const row of rows) {
      if (row.containerId || this.#busy.has(row.id)) continue;
      // Only one that runs and has an address: a container created but never started is an interrupted start,
      // removed (as an orphan, once its row is gone) and started again.
      const instance = running.find((c) => c.name === row.containerName && c.status === 'running' && c.address);
      if (!instance) continue;
      await this.options.stores.replicas.attach(row.id, instance.id, instance.address);
      Object.assign(row, {
        containerId: instance.id,
        host: instance.address?.host ?? null,
        port: instance.address?.port ?? null,
      });
    }
  }

  /** Joins replica rows with the labelled replicas the runtime reports and this reconciler's gates. */
  #observe(rows: ReplicaRow[], running: WorkloadInstance[], now: Date): ObservedReplica[] {
    const byId = new Map(running.map((c) => [c.id, c]));
    const known = new Set(rows.flatMap((r) => (r.containerId ? [r.containerId, r.containerName] : [r.containerName])));
    const observed: ObservedReplica[] = rows.map((row) => {
      const instance = row.containerId ? byId.get(row.containerId) : undefined;
      return {
        replicaId: row.id,
        containerId: row.containerId,
        environmentId: row.environmentId,
        releaseId: row.releaseId,
        state: row.state,
        container: instance ? (instance.status === 'exited' ? 'stopped' : 'running') : 'missing',
        healthy: row.healthy,
        unhealthyForMs: row.unhealthySince ? now.getTime() - row.unhealthySince.getTime() : 0,
        ageMs: now.getTime() - row.updatedAt.getTime(),
        busy: this.#busy.has(row.id),
        gate: this.#gates.get(row.id)?.status ?? null,
      };
    });
    for (const instance of running) {
      if (known.has(instance.id) || known.has(instance.name)) continue;
      const environmentId = instance.labels[LABEL_ENVIRONMENT_ID];
      if (!environmentId) continue;
      observed.push({
        replicaId: null,
        containerId: instance.id,
        environmentId,
        releaseId: instance.labels[LABEL_RELEASE] ?? '',
        state: null,
        container: instance.status === 'exited' ? 'stopped' : 'running',
        healthy: false,
        unhealthyForMs: 0,
        ageMs: instance.startedAt ? now.getTime() - instance.startedAt.getTime() : 0,
        busy: this.#busy.has(instance.id),
        gate: null,
      });
    }
    return observed;
  }

  async #execute(action: ReconcileAction, context: PassContext): Promise<void> {
    const { stores, logger } = this.options;
    switch (action.kind) {
      case 'start':
        return this.#start(action, context);
      case 'gate':
        return this.#gate(action.replicaId, context);
      case 'serve':
        logger.info(
          { environmentId: action.environmentId, count: action.replicaIds.length },
          'replacement replicas healthy; serving',
        );
        await stores.replicas.serve(action.replicaIds);
        for (const id of action.replicaIds) this.#gates.delete(id);
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
    }
  }

  /** Records each new replica, then starts its container in the background. */
  async #start(action: Extract<ReconcileAction, { kind: 'start' }>, context: PassContext): Promise<void> {
    const { stores, networks, workload, instance, logger } = this.options;
    const target = context.targets.get(action.environmentId);
    if (!target) return;
    const release = await stores.releases.get(action.releaseId);
    await networks.ensureNetwork(environmentNetwork(target.appName, target.name), {
      [LABEL_APP]: target.appName,
      [LABEL_ENV]: target.name,
      [LABEL_ENVIRONMENT_ID]: target.environmentId,
      // The sweep removes only its own installation's empty networks of deleted environments.
      [LABEL_INSTANCE]: instance,
    });
    const { config, networks: linked } = await replicaConfig(stores, target.environmentId, release);
    const what = `${action.count} replica${action.count === 1 ? '' : 's'} of release v${release.version}`;
    if (action.rolloutId) await this.#deploymentLog(target, [`starting ${what}`]);
    else logger.info({ app: target.appName, env: target.name, count: action.count }, 'starting replacement replicas');
    for (let i = 0; i < action.count; i++) {
      const spec = replicaSpec({
        instance,
        app: target.appName,
        env: target.name,
        environmentId: target.environmentId,
        release: { ...release, networks: linked },
        config,
      });
      const row = await stores.replicas.add(target.environmentId, release.id, spec.name);
      this.#background(row.id, async () => {
        try {
          const started = await workload.run(spec);
          await stores.replicas.attach(row.id, started.id, started.address);
        } catch (err) {
          logger.warn({ err, replica: spec.name }, 'could not start a replica');
          this.#gates.set(row.id, {
            status: { state: 'failed', reason: `the replica could not start: ${(err as Error).message}` },
            responses: [],
            abort: new AbortController(),
          });
        }
      });
    }
  }

  /** Probes a starting replica until it passes or fails its health check; the result is for the next pass. */
  async #gate(replicaId: string, context: PassContext): Promise<void> {
    if (this.#gates.has(replicaId)) return;
    const row = context.rows.get(replicaId);
    if (!row?.containerId) return;
    const gate: Gate = { status: { state: 'pending' }, responses: [], abort: new AbortController() };
    this.#gates.set(replicaId, gate);
    const { stores, workload } = this.options;
    const containerId = row.containerId;
    const task = (async () => {
      const health = stores.releases.health(await stores.releases.get(row.releaseId));
      if (row.host === null || row.port === null) {
        gate.status = { state: 'failed', reason: 'the runtime reported no address for it' };
        return;
      }
      const result = await waitUntilHealthy({
        url: addressUrl({ host: row.host, port: row.port }, health.path),
        settings: health,
        isRunning: async () => (await workload.inspect(containerId))?.status !== 'exited',
        signal: gate.abort.signal,
      });
      gate.responses = result.responses;
      if (gate.abort.signal.aborted) return;
      gate.status = result.healthy
        ? { state: 'passed' }
        : {
            state: 'failed',
            reason: `did not pass its health check (GET ${health.path}): ${result.reason ?? 'unhealthy'}`,
          };
    })()
      .catch((err: unknown) => {
        gate.status = { state: 'failed', reason: `its health check could not run: ${(err as Error).message}` };
      })
      .finally(() => {
        this.#tasks.delete(task);
        this.kick();
      });
    this.#tasks.add(task);
  }

  /** The rollout's replicas all passed: one transaction makes them serve and the release live. */
  async #switch(action: Extract<ReconcileAction, { kind: 'switch' }>, context: PassContext): Promise<void> {
    const { stores, logger } = this.options;
    const target = context.targets.get(action.environmentId);
    const draining = await stores.rollouts.succeed(action.rolloutId, action.replicaIds, 'all replicas healthy; traffic switched');
    for (const id of action.replicaIds) this.#gates.delete(id);
    if (!draining || !target) return;
    const release = await stores.releases.get(action.releaseId);
    if (action.replicaIds.length > 0) {
      await this.#deploymentLog(target, [
        'all replicas healthy; switching traffic',
        `live; draining ${draining.length} old replica(s)`,
      ]);
    } else {
      await this.#deploymentLog(target, [`release v${release.version} is already live`]);
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
    const lines: string[] = [];
    if (row?.containerId) {
      try {
        for await (const entry of workload.logs(row.containerId, { tail: 20 })) lines.push(entry.line);
      } catch {
        // the container may already be gone
      }
    }
    const responses = action.replicaId ? (this.#gates.get(action.replicaId)?.responses ?? []) : [];
    const reason = [
      `release v${release?.version ?? '?'} ${action.reason}`,
      `last health responses: ${responses.join(', ') || 'none'}`,
      'last log lines of the container:',
      ...lines.slice(-20),
    ].join('\n');
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
    await this.#deploymentLog(target, [reason], mask);
    logger.warn(
      { app: target.appName, env: target.name, release: release?.version },
      'rollout failed; the live release keeps serving',
    );
  }

  /** Takes a replica out of the route first, then stops (with grace, for a drained one) and removes its container. */
  async #remove(action: Extract<ReconcileAction, { kind: 'remove' }>, context: PassContext): Promise<void> {
    const { stores, workload, networks, logger } = this.options;
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
    const gone = !context.targets.has(action.environmentId);
    const instance = action.containerId ? context.running.get(action.containerId) : undefined;
    this.#background(key, async () => {
      this.#gates.get(key)?.abort.abort();
      this.#gates.delete(key);
      if (action.replicaId) await stores.replicas.remove([action.replicaId]);
      if (!action.containerId) return;
      try {
        if (action.graceful || gone) await workload.stop(action.containerId, STOP_GRACE_SECONDS);
        // A deleted environment (a closed pull request's preview) leaves its network behind too: removed while
        // its containers are stopped; refused (ConflictError) while another one runs, which is removed next.
        const app = instance?.labels[LABEL_APP];
        const env = instance?.labels[LABEL_ENV];
        if (gone && app && env) {
          await networks.removeNetwork(environmentNetwork(app, env)).catch((err: unknown) => {
            if (!(err instanceof ConflictError)) throw err;
          });
        }
        await workload.remove(action.containerId);
      } catch (err) {
        // The container is left labelled and without a row: the next pass removes it as an orphan.
        logger.warn({ err, containerId: action.containerId }, 'could not remove a replica; will retry');
      }
    });
  }

  /** Removes a replica that takes no traffic (a starting one) at once: its row, its gate, its container. */
  async #removeNow(row: ReplicaRow): Promise<void> {
    this.#busy.add(row.id);
    try {
      this.#gates.get(row.id)?.abort.abort();
      this.#gates.delete(row.id);
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

  /** Appends lines to the log of the deployment the environment's rollout carries out, masked. */
  async #deploymentLog(target: ReconcileTarget, lines: string[], mask?: (text: string) => string): Promise<void> {
    const deploymentId = target.rollout?.deploymentId;
    if (!deploymentId) return;
    const { stores } = this.options;
    const masking = mask ?? createSecretMask(await replicaSecrets(stores, target.appId, target.environmentId));
    const log = new DeploymentLogWriter(stores.deployments, deploymentId, { mask: masking, maxBytes: this.options.logMaxBytes });
    for (const line of lines) log.write(line, 'system');
    await log.close();
  }

  #passSoon(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.kick();
    }, this.options.activeIntervalMs ?? 1000);
  }
}

interface PassContext {
  targets: Map<string, ReconcileTarget>;
  rows: Map<string, ReplicaRow>;
  running: Map<string, WorkloadInstance>;
}
