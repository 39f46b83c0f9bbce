import { type ApiClient, path, type StreamEvent, sleep } from './api-client.ts';
import { CliError, EXIT } from './cli-error.ts';
import type { CommandContext } from './command.ts';
import { type DeploymentEvent, duration, firstLine, ProgressLine, stepText } from './deployment-progress.ts';
import { printable } from './output.ts';

/** A deployment as the API shows it (the fields the CLI reads; the rest is passed through to --json). */
/** The command that follows a deployment again: every hint of the CLI names it the same way. */
export function followCommand(id: string): string {
  return `pier deployments follow ${id}`;
}

export interface Deployment {
  id: string;
  app: string;
  environment: string;
  state: string;
  trigger: string;
  ref: string | null;
  commit: string | null;
  prebuiltImage: string | null;
  reason: string | null;
  queuedAt: string;
  finishedAt: string | null;
  events?: DeploymentEvent[];
}

interface BuildLine {
  id?: number;
  stream: string;
  line: string;
}

/** Mirrors TERMINAL_STATES of packages/core/src/deployment-state.ts: nothing happens to the deployment after these. */
export const TERMINAL_STATES = ['live', 'failed', 'cancelled', 'superseded', 'skipped'];
const POLL_MS = 500;

export interface FollowOptions {
  /** What --json prints once the deployment ended (default: the final deployment). */
  jsonResult?: (deployment: Deployment) => unknown;
}

/**
 * Follows a deployment until it ends: its build output on stdout (streamed,
 * then the rollout's lines as they are stored), each state change on stderr
 * under a redrawn progress line. Resolves with the final deployment once it
 * is live (its URL printed); throws EXIT.deployFailed when it ended any other
 * way, EXIT.interrupted on Ctrl-C (the deployment keeps going on the server).
 */
export async function followDeployment(ctx: CommandContext, id: string, options: FollowOptions = {}): Promise<Deployment> {
  const { out } = ctx;
  const api = await ctx.api();
  const progress = new ProgressLine(out, !out.json && Boolean(out.streams.stderr.isTTY));
  let deployment: Deployment;
  try {
    deployment = await watch(ctx, api, id, progress);
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    progress.stop();
    out.info(`the deployment keeps going; follow it again with: ${followCommand(id)}`);
    throw new CliError('interrupted', EXIT.interrupted, 'interrupted');
  } finally {
    progress.stop();
  }
  if (out.json) out.printJson(options.jsonResult ? options.jsonResult(deployment) : deployment);
  const wentLive = deployment.state === 'live' || deployment.events?.some((e) => e.to === 'live');
  if (!wentLive) {
    // A superseded deployment has no reason; its last event says which took its place.
    const reason = firstLine(deployment.reason ?? deployment.events?.at(-1)?.message) || 'no reason given';
    throw new CliError(`deployment ${id} ${deployment.state}: ${reason}`, EXIT.deployFailed, `deployment_${deployment.state}`);
  }
  if (!out.json) await announceLive(api, deployment, ctx);
  return deployment;
}

/** Streams the build output while polling the deployment; returns it once its state is terminal. */
async function watch(ctx: CommandContext, api: ApiClient, id: string, progress: ProgressLine): Promise<Deployment> {
  const { out } = ctx;
  let lastLine = 0;
  let printedEvents = 0;
  const printLine = (line: BuildLine) => {
    if (line.id !== undefined) lastLine = Math.max(lastLine, line.id);
    const text = printable(line.line);
    progress.around(() => out.line(line.stream === 'system' ? out.paint.dim(text) : text));
  };
  // The stream ends once the build is over; the rollout's lines after that are read by polling.
  let streamEnded = false;
  let streamFailure: unknown;
  const stream = out.json
    ? Promise.resolve()
    : api
        .stream(
          path`/deployments/${id}/logs`,
          { follow: 1 },
          (event) => {
            const failure = onBuildEvent(event, printLine);
            if (!failure) return;
            streamFailure = failure;
            return 'stop';
          },
          ctx.signal,
        )
        .then(
          () => {
            streamEnded = true;
          },
          (err: unknown) => {
            streamFailure = err;
          },
        );
  const readStoredLines = async () => {
    const { lines } = await api.get<{ lines: BuildLine[] }>(path`/deployments/${id}/logs`, { after: lastLine }, ctx.signal);
    for (const line of lines) printLine(line);
  };

  for (;;) {
    const deployment = await api.get<Deployment>(path`/deployments/${id}`, undefined, ctx.signal);
    const ended = TERMINAL_STATES.includes(deployment.state);
    if (ended && !out.json) await stream;
    if (streamFailure) throw streamFailure;
    if (streamEnded && !out.json) await readStoredLines();
    const events = deployment.events ?? [];
    if (!out.json) {
      for (const event of events.slice(printedEvents)) progress.around(() => out.info(stepText(event)));
    }
    printedEvents = events.length;
    if (ended) return deployment;
    progress.update(deployment.state, deployment.queuedAt);
    await sleep(POLL_MS, ctx.signal);
    if (ctx.signal.aborted) throw new CliError('interrupted', EXIT.interrupted, 'interrupted');
  }
}

/** Prints a line of build output; an `error` event (the server's stream failed) comes back as the error to throw. */
function onBuildEvent(event: StreamEvent, printLine: (line: BuildLine) => void): CliError | undefined {
  if (event.event === 'line') {
    const line = JSON.parse(event.data) as BuildLine;
    printLine({ ...line, id: event.id ? Number(event.id) : undefined });
  } else if (event.event === 'error') {
    const error = JSON.parse(event.data) as { code?: string; message?: string };
    return new CliError(`build output: ${printable(error.message ?? 'the stream failed')}`, EXIT.failure, error.code);
  }
  return undefined;
}

/** "✓ h2-app staging went live (release v3, 14s)" on stderr, and the URL on stdout. */
async function announceLive(api: ApiClient, deployment: Deployment, ctx: CommandContext): Promise<void> {
  const status = await api
    .get<{ url: string; liveRelease: { version: number } | null }>(
      path`/apps/${deployment.app}/environments/${deployment.environment}/status`,
      undefined,
      ctx.signal,
    )
    .catch(() => null);
  // Live once and superseded since: the environment's live release is another deployment's now.
  const stillLive = deployment.state === 'live';
  const release = stillLive && status?.liveRelease ? `release v${status.liveRelease.version}` : '';
  const details = [release, duration(deployment.queuedAt, deployment.finishedAt)].filter(Boolean).join(', ');
  const since = stillLive ? '' : `, ${deployment.state} since`;
  ctx.out.success(`${deployment.app} ${deployment.environment} went live${details ? ` (${details})` : ''}${since}`);
  if (status?.url) ctx.out.line(status.url);
}
