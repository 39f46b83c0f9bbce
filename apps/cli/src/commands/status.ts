import { path } from '../api-client.ts';
import { positionals } from '../args.ts';
import type { CommandContext, CommandSpec } from '../command.ts';
import { builtCommit, type EnvironmentStatus, environmentState, fetchStatus, signals } from '../environment-status.ts';
import type { Deployment } from '../follow-deployment.ts';
import { ago, printable } from '../output.ts';

const status: CommandSpec = {
  name: 'status',
  summary: "The environment's live release, replicas, last deployment and anything wrong",
  usage: ['status'],
  description: [
    'Below the fields, what needs attention: a crash loop, a failed rollout, an automatic rollback, required',
    "variables not set, a deployment waiting for GitHub's checks.",
  ].join('\n'),
  examples: ['pier status', 'pier status -e production', 'pier status --json'],
  async run(ctx, input) {
    positionals(input, []);
    const target = await ctx.target();
    const body = await fetchStatus(ctx, target);
    if (ctx.out.json) return ctx.out.printJson(body);
    const api = await ctx.api();
    const where = path`/apps/${target.app}/environments/${target.env}`;
    // The status names no deployment (a build that failed never made a rollout): the newest one says what happened last.
    const [{ deployments }, { domains }] = await Promise.all([
      api.get<{ deployments: Deployment[] }>(`${where}/deployments`, undefined, ctx.signal),
      api.get<{ domains: { hostname: string }[] }>(`${where}/domains`, undefined, ctx.signal),
    ]);
    renderStatus(ctx, body, deployments, [body.url, ...domains.map((d) => `https://${d.hostname}`)]);
  },
};

function renderStatus(ctx: CommandContext, body: EnvironmentStatus, deployments: Deployment[], urls: string[]): void {
  const live = body.liveRelease;
  const liveDeployment = deployments.find((d) => d.state === 'live');
  const last = deployments[0];
  const serving = body.replicas.filter((r) => r.state === 'serving');
  ctx.out.fields([
    ['app', `${body.app} (${body.environment})`],
    ['url', urls.join(', ')],
    ['state', ctx.out.state(environmentState(body))],
    ['live release', live ? `v${live.version}, released ${ago(live.createdAt)}` : 'none: nothing is deployed yet'],
    ['commit', (liveDeployment?.commit ?? builtCommit(live?.image.ref))?.slice(0, 12)],
    ['image', live ? printable(live.image.ref ?? live.image.id) : null],
    ['replicas', `${serving.length} serving of ${body.desiredReplicas} web wanted${otherProcesses(body)}`],
    ['last deployment', last ? describeDeployment(ctx, last) : 'none'],
  ]);
  const problems = signals(body);
  if (problems.length === 0) return;
  ctx.out.line();
  for (const problem of problems) ctx.out.line(`${ctx.out.paint.yellow('!')} ${problem}`);
}

function otherProcesses(body: EnvironmentStatus): string {
  const others = body.processes.filter((p) => p.type !== 'web');
  return others.length ? `; ${others.map((p) => `${p.type} ${p.running}/${p.replicas}`).join(', ')}` : '';
}

function describeDeployment(ctx: CommandContext, d: Deployment): string {
  const what = d.commit ? d.commit.slice(0, 7) : d.ref?.replace(/^refs\/(heads|tags)\//, '');
  const reason = d.reason && /failed|cancelled|skipped/.test(d.state) ? `: ${printable(d.reason)}` : '';
  const source = what ? `${d.trigger} ${printable(what)}` : d.trigger;
  return `${ctx.out.state(d.state)} ${ago(d.finishedAt ?? d.queuedAt)} (${source}, ${d.id.slice(0, 8)})${reason}`;
}

const open: CommandSpec = {
  name: 'open',
  summary: "Open the environment's URL in a browser (or print it)",
  usage: ['open [--print]'],
  description: 'Prints the URL; on a terminal it also opens it in the browser ($BROWSER, else xdg-open/open).',
  examples: ['pier open', 'pier open -e production --print'],
  options: { print: { type: 'boolean', description: 'only print the URL' } },
  async run(ctx, input) {
    positionals(input, []);
    const { url } = await fetchStatus(ctx, await ctx.target());
    ctx.out.result({ url }, () => ctx.out.line(url));
    if (ctx.out.json || input.options.print === true || !ctx.out.interactive) return;
    if (!(await ctx.openUrl(url))) ctx.out.warn('could not start a browser: open the URL above yourself');
  },
};

export const STATUS_COMMANDS = [status, open];
