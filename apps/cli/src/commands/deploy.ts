import { path } from '../api-client.ts';
import { integerOption, positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandInput, CommandSpec, Target } from '../command.ts';
import { firstLine, stepText } from '../deployment-progress.ts';
import { type Deployment, followCommand, followDeployment } from '../follow-deployment.ts';
import { UUID } from '../ids.ts';
import { ago, printable } from '../output.ts';

const SHA = /^[0-9a-f]{40}$/i;

/** `main@312b88d`, `v1.2@…`, or the prebuilt image: what a deployment deploys, short. */
export function deployedText(d: Pick<Deployment, 'ref' | 'commit' | 'prebuiltImage'>): string {
  if (d.prebuiltImage) return d.prebuiltImage;
  const ref = d.ref?.replace(/^refs\/(heads|tags)\//, '');
  return [ref, d.commit?.slice(0, 7)].filter(Boolean).join('@');
}

/**
 * Follows a deployment just started, or with --detach prints its id and how
 * to follow it. Shared by deploy, rollback and promote.
 */
export async function followOrDetach(
  ctx: CommandContext,
  input: CommandInput,
  started: Deployment,
  jsonResult?: (final: Deployment) => unknown,
): Promise<void> {
  if (input.options.detach === true) {
    ctx.out.result(jsonResult ? jsonResult(started) : started, () => {
      ctx.out.line(started.id);
      ctx.out.info(`follow it with: ${followCommand(started.id)}`);
    });
    return;
  }
  if (!ctx.out.json) ctx.out.info(`deployment ${started.id} ${started.state}; Ctrl-C stops watching, not the deployment`);
  await followDeployment(ctx, started.id, { jsonResult });
}

export const DETACH_OPTION = {
  detach: { type: 'boolean', description: 'print the deployment id and return without following it' },
} as const;

/** The body of POST …/deployments from the flags, checked here so a typo fails before anything is queued. */
function deployBody(input: CommandInput) {
  const branch = stringOption(input, 'branch');
  const tag = stringOption(input, 'tag');
  const commit = stringOption(input, 'commit');
  const image = stringOption(input, 'image');
  const waitForChecks = input.options['wait-for-checks'] === true;
  const given = [branch && '--branch', tag && '--tag', commit && '--commit', image && '--image'].filter(Boolean);
  if (given.length > 1) throw usageError(`${given[1]}: give one of --branch, --tag, --commit or --image`);
  if (commit !== undefined && !SHA.test(commit)) throw usageError('--commit: must be a full 40-character commit SHA');
  if (waitForChecks && !commit) throw usageError('--wait-for-checks: needs --commit (the commit the checks ran on)');
  return {
    ...(branch ? { branch } : {}),
    ...(tag ? { tag } : {}),
    ...(commit ? { commit: commit.toLowerCase() } : {}),
    ...(image ? { image } : {}),
    ...(waitForChecks ? { waitForChecks } : {}),
  };
}

function describeBody(body: ReturnType<typeof deployBody>): string {
  if (body.image) return `image ${body.image}`;
  if (body.commit) return `commit ${body.commit.slice(0, 7)}`;
  if (body.tag) return `tag ${body.tag}`;
  return body.branch ? `branch ${body.branch}` : "the environment's branch";
}

const deploy: CommandSpec = {
  name: 'deploy',
  summary: 'Build and deploy a branch, tag, commit or image, and follow it until it is live',
  usage: ['deploy [--branch <name> | --tag <name> | --commit <sha> | --image <ref>] [--detach] [--wait-for-checks]'],
  description: [
    "Without a ref it deploys the environment's branch (else the app's default branch). The build output goes",
    'to stdout and each rollout step to stderr; it exits 0 once live (printing the URL), 5 when the deployment',
    'fails or is cancelled or superseded, 130 on Ctrl-C (the deployment keeps going on the server).',
  ].join('\n'),
  examples: [
    'pier deploy',
    'pier deploy --branch feature/login --env staging',
    'pier deploy --tag v1.4.0 --env production --yes',
    'pier deploy --image ghcr.io/acme/web:1.4 --detach',
  ],
  options: {
    branch: { type: 'string', value: 'name', description: 'deploy the head of this branch' },
    tag: { type: 'string', value: 'name', description: 'deploy this tag' },
    commit: { type: 'string', value: 'sha', description: 'deploy this commit (the full 40-character SHA)' },
    image: { type: 'string', value: 'ref', description: 'deploy an image built elsewhere instead of building' },
    'wait-for-checks': { type: 'boolean', description: "wait for GitHub's checks of --commit to pass before building" },
    ...DETACH_OPTION,
  },
  async run(ctx, input) {
    positionals(input, []);
    const body = deployBody(input);
    const target = await ctx.target();
    await ctx.confirmProduction(target, `deploy ${describeBody(body)}`);
    const api = await ctx.api();
    const started = await api.post<Deployment>(
      path`/apps/${target.app}/environments/${target.env}/deployments`,
      body,
      ctx.signal,
    );
    await followOrDetach(ctx, input, started);
  },
};

/** A full deployment id, or the unique deployment of the app whose id starts with `given` (as the table shows it). */
async function deploymentId(ctx: CommandContext, given: string): Promise<string> {
  if (UUID.test(given)) return given.toLowerCase();
  if (!/^[0-9a-f-]{4,35}$/i.test(given))
    throw usageError('id: a deployment id, or its first characters as `pier deployments` shows them');
  const { app } = await ctx.target({ appOnly: true });
  const api = await ctx.api();
  const { deployments } = await api.get<{ deployments: Deployment[] }>(path`/apps/${app}/deployments`, undefined, ctx.signal);
  const matches = deployments.filter((d) => d.id.startsWith(given.toLowerCase()));
  if (matches.length === 0) throw new CliError(`no recent deployment of ${app} starts with ${given}`, EXIT.notFound, 'not_found');
  if (matches.length > 1) throw usageError(`id: ${given} starts ${matches.length} deployments' ids; give more of it`);
  return (matches[0] as Deployment).id;
}

function showDeployment(ctx: CommandContext, d: Deployment): void {
  const { out } = ctx;
  out.fields([
    ['id', d.id],
    ['app', d.app],
    ['environment', d.environment],
    ['state', out.state(d.state)],
    ['trigger', d.trigger],
    ['deploys', deployedText(d)],
    ['commit', d.commit],
    ['reason', firstLine(d.reason)],
    ['queued', `${d.queuedAt} (${ago(d.queuedAt)})`],
    ['finished', d.finishedAt],
  ]);
  if (d.events?.length) {
    out.line();
    for (const event of d.events) out.line(`${out.paint.dim(event.at)}  ${stepText(event)}`);
  }
  // A failure's reason goes on with the health responses and the container's last lines.
  const reason = printable(d.reason ?? '')
    .trim()
    .split('\n');
  if (reason.length > 1) {
    out.line();
    for (const line of reason) out.line(`  ${line}`);
  }
}

const idUsage = (sub: string) => [`deployments ${sub} <id>`];

const deployments: CommandSpec = {
  name: 'deployments',
  aliases: ['deploys'],
  summary: "The environment's deployments, newest first; show, follow or cancel one",
  usage: ['deployments [--limit <n>]', ...idUsage('show'), ...idUsage('follow'), ...idUsage('cancel')],
  description: 'An id may be shortened to its first characters, as the list shows it (then the app must be known).',
  examples: ['pier deployments', 'pier deployments --env production --limit 5', 'pier deployments follow 3f2a9c1d'],
  options: {
    limit: { type: 'string', value: 'n', description: 'show the newest n (default 20; the API keeps the newest 50)' },
  },
  subcommands: [
    {
      name: 'show',
      summary: 'A deployment with each of its state changes',
      usage: idUsage('show'),
      examples: ['pier deployments show 3f2a9c1d', 'pier deployments show 3f2a9c1d-… --json'],
      async run(ctx, input) {
        const id = await deploymentId(ctx, positionals(input, ['id']).id as string);
        const d = await (await ctx.api()).get<Deployment>(path`/deployments/${id}`, undefined, ctx.signal);
        ctx.out.result(d, () => showDeployment(ctx, d));
      },
    },
    {
      name: 'follow',
      summary: 'Follow a deployment until it ends (exit 0 live, 5 failed, 130 on Ctrl-C)',
      usage: idUsage('follow'),
      examples: ['pier deployments follow 3f2a9c1d'],
      async run(ctx, input) {
        const id = await deploymentId(ctx, positionals(input, ['id']).id as string);
        await followDeployment(ctx, id);
      },
    },
    {
      name: 'cancel',
      summary: 'Cancel a queued deployment or stop its build (asks first on production)',
      usage: idUsage('cancel'),
      examples: ['pier deployments cancel 3f2a9c1d', 'pier deployments cancel 3f2a9c1d --yes'],
      async run(ctx, input) {
        const id = await deploymentId(ctx, positionals(input, ['id']).id as string);
        const api = await ctx.api();
        const d = await api.get<Deployment>(path`/deployments/${id}`, undefined, ctx.signal);
        const where: Target = { app: d.app, env: d.environment };
        await ctx.confirmProduction(where, `cancel deployment ${id} (${d.state})`);
        const cancelled = await api.post<Deployment>(path`/deployments/${id}/cancel`, undefined, ctx.signal);
        ctx.out.result(cancelled, () =>
          ctx.out.success(`cancel requested for deployment ${id} of ${d.app} ${d.environment} (now ${cancelled.state})`),
        );
      },
    },
  ],
  async run(ctx, input) {
    positionals(input, []);
    const limit = integerOption(input, 'limit', { min: 1, max: 50 }) ?? 20;
    const target = await ctx.target();
    const api = await ctx.api();
    const body = await api.get<{ deployments: Deployment[] }>(
      path`/apps/${target.app}/environments/${target.env}/deployments`,
      undefined,
      ctx.signal,
    );
    const shown = body.deployments.slice(0, limit);
    ctx.out.result({ ...body, deployments: shown }, () => {
      if (shown.length === 0) return ctx.out.info(`no deployments yet: run \`pier deploy\``);
      ctx.out.table(
        ['id', 'state', 'trigger', 'deploys', 'queued', 'reason'],
        shown.map((d) => [
          d.id.slice(0, 8),
          ctx.out.state(d.state),
          d.trigger,
          deployedText(d),
          ago(d.queuedAt),
          firstLine(d.reason),
        ]),
      );
    });
  },
};

export const DEPLOY_COMMANDS = [deploy, deployments];
