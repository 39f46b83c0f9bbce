import type { HealthCheckResult } from './health-probe.ts';
import { probeUpstream } from './health-probe.ts';
import { type ProxyLogger, silentLogger } from './proxy-logger.ts';
import type { HealthTarget } from './route-table.ts';

/** What the edge proxy asks about health while routing. */
export interface UpstreamHealth {
  /** False while the upstream is out of rotation. Unknown upstreams count as healthy. */
  isHealthy(upstreamId: string): boolean;
  /** A request could not connect to the upstream: check it now rather than at the next interval. */
  suspect?(upstreamId: string): void;
}

export interface UpstreamHealthReport {
  upstreamId: string;
  app: string;
  env: string;
  healthy: boolean;
  consecutiveFailures: number;
  last?: HealthCheckResult;
}

export interface HealthPollerOptions {
  /** The upstreams to poll; read again on every interval and on `sync()`. */
  targets: () => readonly HealthTarget[];
  /** Time between checks of one upstream. */
  intervalMs?: number;
  /** A check without a complete answer by then fails. Keep it at most half the interval. */
  timeoutMs?: number;
  /** Consecutive failures that take an upstream out of rotation. */
  unhealthyThreshold?: number;
  /** Consecutive passes that put it back. */
  healthyThreshold?: number;
  /** Called on every change of an upstream's state (for reporting to the control plane). */
  onChange?: (upstreamId: string, healthy: boolean, detail: HealthCheckResult) => void;
  /** Performs one check; tests and other transports replace it. */
  probe?: typeof probeUpstream;
  log?: ProxyLogger;
}

interface TargetState {
  target: HealthTarget;
  healthy: boolean;
  failures: number;
  passes: number;
  checking: boolean;
  last?: HealthCheckResult;
  recheck?: NodeJS.Timeout;
}

/**
 * Polls every upstream actively (its live release's health check, as the
 * deploy's gate makes it, with the route's hostname as `Host`) and keeps the
 * result for routing. A check that disagrees with the current state
 * is confirmed half an interval later, so with the default thresholds a dead
 * upstream leaves rotation within 1.5 intervals plus one timeout, and a
 * recovered one comes back as fast. New upstreams start healthy: the deploy
 * put them in the table only after they passed their own health gate.
 */
export class HealthPoller implements UpstreamHealth {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #unhealthyThreshold: number;
  readonly #healthyThreshold: number;
  readonly #probe: typeof probeUpstream;
  readonly #log: ProxyLogger;
  readonly #states = new Map<string, TargetState>();
  readonly #checks = new Set<Promise<void>>();
  #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HealthPollerOptions) {
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? Math.min(2_000, this.#intervalMs / 2);
    this.#unhealthyThreshold = options.unhealthyThreshold ?? 2;
    this.#healthyThreshold = options.healthyThreshold ?? 2;
    this.#probe = options.probe ?? probeUpstream;
    this.#log = options.log ?? silentLogger;
  }

  start(): void {
    if (this.#timer) return;
    this.#abort = new AbortController();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
    this.#tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    for (const state of this.#states.values()) clearTimeout(state.recheck);
    await Promise.all(this.#checks);
  }

  /** Picks up added and removed upstreams now; added ones are checked at once. */
  sync(): void {
    const targets = this.options.targets();
    const ids = new Set(targets.map((t) => t.upstream.id));
    for (const [id, state] of this.#states) {
      if (ids.has(id)) continue;
      clearTimeout(state.recheck);
      this.#states.delete(id);
    }
    for (const target of targets) {
      const state = this.#states.get(target.upstream.id);
      if (state) state.target = target;
      else {
        const fresh: TargetState = { target, healthy: true, failures: 0, passes: 0, checking: false };
        this.#states.set(target.upstream.id, fresh);
        if (this.#timer) this.#check(fresh);
      }
    }
  }

  isHealthy(upstreamId: string): boolean {
    return this.#states.get(upstreamId)?.healthy ?? true;
  }

  suspect(upstreamId: string): void {
    const state = this.#states.get(upstreamId);
    if (state && this.#timer) this.#check(state);
  }

  report(): UpstreamHealthReport[] {
    return [...this.#states.values()].map((s) => ({
      upstreamId: s.target.upstream.id,
      app: s.target.app,
      env: s.target.env,
      healthy: s.healthy,
      consecutiveFailures: s.failures,
      ...(s.last ? { last: s.last } : {}),
    }));
  }

  #tick(): void {
    this.sync();
    for (const state of this.#states.values()) this.#check(state);
  }

  #check(state: TargetState): void {
    if (state.checking || this.#abort.signal.aborted) return;
    state.checking = true;
    clearTimeout(state.recheck);
    const { upstream, check: healthCheck, hostname } = state.target;
    const startedAt = performance.now();
    const options = { check: healthCheck, hostname, timeoutMs: this.#timeoutMs, signal: this.#abort.signal };
    const check = this.#probe(upstream, options).then((result) => {
      state.checking = false;
      this.#checks.delete(check);
      if (this.#abort.signal.aborted || this.#states.get(upstream.id) !== state) return;
      this.#record(state, result, startedAt);
    });
    this.#checks.add(check);
  }

  #record(state: TargetState, result: HealthCheckResult, startedAt: number): void {
    state.last = result;
    if (result.ok) {
      state.failures = 0;
      state.passes++;
    } else {
      state.passes = 0;
      state.failures++;
    }
    const flips = result.ok
      ? !state.healthy && state.passes >= this.#healthyThreshold
      : state.healthy && state.failures >= this.#unhealthyThreshold;
    if (flips) this.#flip(state, result);
    else if (result.ok !== state.healthy) {
      // Confirm a disagreeing result sooner than the next interval.
      const delay = Math.max(0, startedAt + this.#intervalMs / 2 - performance.now());
      state.recheck = setTimeout(() => this.#check(state), delay);
      state.recheck.unref();
    }
  }

  #flip(state: TargetState, result: HealthCheckResult): void {
    state.healthy = result.ok;
    const { upstream, app, env } = state.target;
    const context = { upstreamId: upstream.id, app, env, status: result.status, error: result.error };
    if (result.ok) this.#log.info(context, 'upstream healthy again, back in rotation');
    else this.#log.warn(context, 'upstream failing health checks, out of rotation');
    this.options.onChange?.(upstream.id, result.ok, result);
  }
}
