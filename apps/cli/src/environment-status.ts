import { path } from './api-client.ts';
import type { CommandContext, Target } from './command.ts';
import { ago, printable } from './output.ts';

/** The parts of GET …/environments/:env/status the CLI shows (the API sends more; --json prints it all). */
/** The commit of an image Pier built (`pier/<app>:<sha>`); none for one built elsewhere, or no image. */
export function builtCommit(ref: string | null | undefined): string | undefined {
  return ref ? /^pier\/[^:]+:([0-9a-f]{40})$/.exec(ref)?.[1] : undefined;
}

export interface EnvironmentStatus {
  app: string;
  environment: string;
  url: string;
  health: string;
  restartStreak: number;
  nextRestartAt: string | null;
  desiredReplicas: number;
  liveRelease: {
    version: number;
    image: { id: string; ref: string | null };
    createdAt: string;
    rolledBack: { at: string; reason: string } | null;
  } | null;
  watch: { state: string; until: string; reason: string | null } | null;
  rolledBack: { release: number | null; at: string; reason: string; deployment: string | null } | null;
  requiredVariables: { name: string; set: boolean }[];
  desiredRelease: number | null;
  rollout: {
    deployment: string;
    from: number | null;
    to: number | null;
    state: string;
    reason: string | null;
    startedAt: string;
    finishedAt: string | null;
  } | null;
  waitingForChecks: { commit?: string; waitingFor?: string[] } | null;
  processes: ProcessView[];
  replicas: ReplicaView[];
}

/** One process type, as …/status and …/processes give it. */
export interface ProcessView {
  type: string;
  command: string | null;
  replicas: number;
  running: number;
  memoryMb: number;
  cpus: number;
  limitsSource: string;
  health: string;
  restartStreak: number;
  /** How a replica last ended without being asked to. */
  lastExit: { at: string; reason: string; exitCode: number | null; oomKilled: boolean } | null;
}

export interface ReplicaView {
  id: string;
  name: string;
  process: string;
  memoryMb: number | null;
  cpus: number | null;
  release: number | null;
  state: string;
  healthy: boolean | null;
  address: { host: string; port: number } | null;
  unhealthySince: string | null;
  createdAt: string;
}

export async function fetchStatus(ctx: CommandContext, target: Target): Promise<EnvironmentStatus> {
  const api = await ctx.api();
  return api.get<EnvironmentStatus>(path`/apps/${target.app}/environments/${target.env}/status`, undefined, ctx.signal);
}

/** One word for an environment: deploying, crash-looping, live, or not deployed. */
export function environmentState(status: EnvironmentStatus): string {
  if (status.rollout?.state === 'active') return 'deploying';
  if (status.health !== 'ok') return status.health;
  return status.liveRelease ? 'live' : 'not deployed';
}

/** What the status body says is wrong or under way, one sentence each. */
export function signals(body: EnvironmentStatus, now = Date.now()): string[] {
  const out: string[] = [];
  for (const p of body.processes) {
    const restarting = p.health !== 'ok' || p.restartStreak > 0;
    if (!restarting && !(p.lastExit && p.running < p.replicas)) continue;
    // The environment's next restart is web's (other types restart on their own schedule).
    const next = p.type === 'web' && body.nextRestartAt ? `; next restart ${later(body.nextRestartAt, now)}` : '';
    const exit = p.lastExit ? `last exit ${ago(p.lastExit.at, now)}: ${printable(p.lastExit.reason)}` : '';
    const state = p.health !== 'ok' ? `is ${p.health}` : 'keeps restarting';
    out.push(
      restarting
        ? `${p.type} ${state}: ${p.restartStreak} restart(s) in a row${next}${exit ? `; ${exit}` : ''}`
        : `${p.type} ${exit}`,
    );
  }
  const unhealthy = body.replicas.filter((r) => r.healthy === false);
  if (unhealthy.length)
    out.push(`${unhealthy.length} replica(s) failing their health check: ${unhealthy.map((r) => r.id.slice(0, 8)).join(', ')}`);
  const rollout = body.rollout;
  if (rollout?.state === 'active')
    out.push(`rolling out v${rollout.to} (deployment ${rollout.deployment.slice(0, 8)}), started ${ago(rollout.startedAt, now)}`);
  if (rollout?.state === 'failed') {
    out.push(
      `the rollout of v${rollout.to} failed ${ago(rollout.finishedAt, now)}${rollout.reason ? `: ${printable(rollout.reason)}` : ''}`,
    );
  }
  if (body.watch?.state === 'watching')
    out.push(`v${body.liveRelease?.version} is watched for errors (automatic rollback) until ${later(body.watch.until, now)}`);
  if (body.rolledBack) {
    out.push(
      `v${body.rolledBack.release} was rolled back automatically ${ago(body.rolledBack.at, now)}: ${printable(body.rolledBack.reason)}`,
    );
  }
  const missing = body.requiredVariables.filter((v) => !v.set).map((v) => v.name);
  if (missing.length) out.push(`required variables not set (the next release is refused): ${missing.join(', ')}`);
  if (body.waitingForChecks) {
    const checks = body.waitingForChecks.waitingFor?.length
      ? `: ${body.waitingForChecks.waitingFor.map(printable).join(', ')}`
      : '';
    out.push(`a deployment of ${body.waitingForChecks.commit?.slice(0, 7) ?? 'a commit'} waits for GitHub's checks${checks}`);
  }
  return out;
}

/** "in 40s", "in 3m" for a time to come; "now" once it has passed. */
function later(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (seconds <= 0) return 'now';
  return seconds < 120 ? `in ${seconds}s` : `in ${Math.round(seconds / 60)}m`;
}
