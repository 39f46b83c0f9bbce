import { compareEnvironments, type Differences, differenceLines, type Link, type VariableComparison } from '@pier/client';
import { path } from '../api-client.ts';
import { positionals, stringOption } from '../args.ts';
import { CliError, EXIT, usageError } from '../cli-error.ts';
import type { CommandContext, CommandSpec, Target } from '../command.ts';
import type { Deployment } from '../follow-deployment.ts';
import { printable } from '../output.ts';
import { DETACH_OPTION, followOrDetach } from './deploy.ts';

const ENV_NAME = /^[a-z][a-z0-9-]{0,62}$/;

interface Status {
  liveRelease: { version: number } | null;
}

/** The value of --release: `v5` or `5`. */
function releaseOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const number = /^v?(\d{1,9})$/i.exec(text)?.[1];
  if (!number || Number(number) < 1) throw usageError('--release: a release version of the --from environment (v5 or 5)');
  return Number(number);
}

/** An environment's links and live release. */
async function readEnvironment(ctx: CommandContext, app: string, env: string) {
  const api = await ctx.api();
  const base = path`/apps/${app}/environments/${env}`;
  const [status, links] = await Promise.all([
    api.get<Status>(`${base}/status`, undefined, ctx.signal),
    api.get<{ links: Link[] }>(`${base}/links`, undefined, ctx.signal),
  ]);
  return { name: env, status, links: links.links };
}

function printDifferences(ctx: CommandContext, differences: Differences, live: number | undefined): void {
  const write = (text: string) => ctx.out.streams.stderr.write(`${printable(text)}\n`);
  const lines = differenceLines(differences);
  if (lines.length === 0) write(`${differences.from} and ${differences.to} have the same variables and linked services`);
  else {
    write(`What differs between ${differences.from} and ${differences.to}:`);
    for (const line of lines) write(`  ${line}`);
  }
  ctx.out.info(live === undefined ? `${differences.to} has no live release yet` : `${differences.to} runs release v${live} now`);
}

/** The environment promoted to: --to, else --env, else production. */
function destination(ctx: CommandContext, to: string | undefined): string {
  if (to !== undefined && ctx.global.env !== undefined && to !== ctx.global.env) {
    throw usageError('--to: differs from --env; give one of them');
  }
  return to ?? ctx.global.env ?? 'production';
}

export const promote: CommandSpec = {
  name: 'promote',
  summary: 'Deploy the exact image live in one environment (staging) to another (production), without a rebuild',
  usage: ['promote [--from <env>] [--to <env>] [--release <version>] [--detach]'],
  description: [
    'First it shows what differs between the two environments: variables by name only (the server compares the',
    'values; none is sent) and linked services. Then it asks (--yes skips it), promotes, and follows the',
    'deployment like `pier deploy`. With --json it prints { differences, deployment } at the end.',
  ].join('\n'),
  examples: ['pier promote', 'pier promote --from staging --to production --yes', 'pier promote --release v12'],
  options: {
    from: { type: 'string', value: 'env', description: 'the environment whose image is promoted (default staging)' },
    to: { type: 'string', value: 'env', description: 'the environment it is deployed to (default production)' },
    release: { type: 'string', value: 'version', description: 'a release of --from (default: its live release)' },
    ...DETACH_OPTION,
  },
  async run(ctx, input) {
    positionals(input, []);
    const from = stringOption(input, 'from') ?? 'staging';
    const to = stringOption(input, 'to');
    for (const [name, value] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (value !== undefined && !ENV_NAME.test(value)) throw usageError(`--${name}: must be an environment name`);
    }
    const version = releaseOption(stringOption(input, 'release'));
    const target: Target = await ctx.target({ defaultEnv: destination(ctx, to) });
    if (target.env === from) throw usageError(`--from: ${from} cannot be promoted into itself; pick another --to`);

    const api = await ctx.api();
    // The server compares the values and answers names only: no secret reaches this machine for a preview.
    const [source, destinationEnv, variables] = await Promise.all([
      readEnvironment(ctx, target.app, from),
      readEnvironment(ctx, target.app, target.env),
      api.get<VariableComparison>(
        path`/apps/${target.app}/environments/${from}/variables/compare`,
        { with: target.env },
        ctx.signal,
      ),
    ]);
    const promoted = version ?? source.status.liveRelease?.version;
    if (promoted === undefined) {
      throw new CliError(`${from} has no live release to promote: deploy it first`, EXIT.failure, 'conflict');
    }
    const differences = compareEnvironments(source, destinationEnv, variables);
    if (!ctx.out.json) printDifferences(ctx, differences, destinationEnv.status.liveRelease?.version);
    await ctx.confirm(`Promote release v${promoted} of ${target.app} from ${from} to ${target.env}?`);

    const started = await api.post<Deployment>(
      path`/apps/${target.app}/environments/${target.env}/promote`,
      { from, ...(version === undefined ? {} : { release: version }) },
      ctx.signal,
    );
    await followOrDetach(ctx, input, started, (deployment) => ({ differences, deployment }));
  },
};
