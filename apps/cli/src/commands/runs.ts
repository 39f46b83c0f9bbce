import { path } from '../api-client.ts';
import { integerOption, positionals } from '../args.ts';
import { usageError } from '../cli-error.ts';
import type { CommandInput, CommandSpec } from '../command.ts';
import { UUID } from '../ids.ts';
import { commandText, type Run, runCommandBody } from '../run-outcome.ts';
import { followRun, runRoute } from './run-follow.ts';
import { printDetached, printRun, printRuns } from './run-views.ts';

/** A run id from the command line, checked before it reaches a URL. */
function runId(input: CommandInput): string {
  const { id } = positionals(input, ['id']) as { id: string };
  if (!UUID.test(id)) throw usageError('id: must be a run id (a UUID, as `pier runs` lists them)');
  return id;
}

const run: CommandSpec = {
  name: 'run',
  summary: 'Run a command once in a new container of the live release, and stream its output',
  usage: ['run [--detach] [--timeout <seconds>] [--release <version>] -- <command…>'],
  description: [
    'One word after -- is a shell command line, run with /bin/sh -c (quote it: `pier run -- "npm run a && npm run b"`);',
    "several words are an argument list run as it is, after the image's entrypoint, with nothing re-quoted.",
    "The container gets the environment's variables and linked services. Output only: there is no stdin",
    'and no terminal, so interactive programs (a shell, a REPL) cannot be used.',
    "The CLI exits with the command's exit code; with 5 when the run timed out, could not start or was cancelled.",
    'Ctrl-C stops following, not the run: `pier runs cancel <id>` stops it.',
    '--json prints each output line as a JSON object ({stream, line, at}), then the run object on the last line.',
  ].join('\n'),
  examples: [
    'pier run -- npm run migrate',
    "pier run -- sh -c 'echo hi; exit 3'",
    'pier run --env production --timeout 3600 -- node scripts/backfill.js',
    'pier run --detach -- "node jobs/rebuild-index.js"',
  ],
  options: {
    detach: { type: 'boolean', short: 'd', description: 'print the run id and return without waiting' },
    timeout: { type: 'string', value: 'seconds', description: 'stop it after this long (default 600, at most 86400)' },
    release: { type: 'string', value: 'version', description: 'run in this release of the environment (default: the live one)' },
  },
  async run(ctx, input) {
    if (input.positionals.length > 0) {
      throw usageError(`put the command after --: \`pier run -- ${input.positionals.join(' ')}\``);
    }
    const command = runCommandBody(input.rest);
    const timeoutSeconds = integerOption(input, 'timeout', { min: 1, max: 86_400 });
    const release = integerOption(input, 'release', { min: 1, max: 2 ** 31 - 1 });
    const target = await ctx.target();
    await ctx.confirmProduction(target, `run \`${commandText(command)}\``);
    const api = await ctx.api();
    const started = await api.post<Run>(
      path`/apps/${target.app}/environments/${target.env}/runs`,
      { command, timeoutSeconds, release },
      ctx.signal,
    );
    if (input.options.detach) return printDetached(ctx, started);
    ctx.out.info(`run ${started.id} ${started.state} in release v${started.release} (Ctrl-C stops following, not the run)`);
    return followRun(ctx, api, target, started);
  },
};

const show: CommandSpec = {
  name: 'show',
  summary: 'A run: state, exit code, reason, duration; --follow streams its output',
  usage: ['runs show <id> [--follow]'],
  description: 'With --follow, its output from the start until it ends, and the exit code of `pier run`.',
  examples: ['pier runs show 0c6c…', 'pier runs show 0c6c… --follow --env production'],
  options: { follow: { type: 'boolean', short: 'f', description: "stream its output and exit with the command's exit code" } },
  async run(ctx, input) {
    const id = runId(input);
    const target = await ctx.target();
    const api = await ctx.api();
    const found = await api.get<Run>(runRoute(target, id), undefined, ctx.signal);
    if (!input.options.follow) return ctx.out.result(found, () => printRun(ctx, found));
    return followRun(ctx, api, target, found);
  },
};

const cancel: CommandSpec = {
  name: 'cancel',
  summary: 'Stop a run (a queued one at once; a running one gets SIGTERM, then SIGKILL)',
  usage: ['runs cancel <id>'],
  examples: ['pier runs cancel 0c6c…', 'pier runs cancel 0c6c… --env production --yes'],
  async run(ctx, input) {
    const id = runId(input);
    const target = await ctx.target();
    await ctx.confirmProduction(target, `cancel run ${id}`);
    const api = await ctx.api();
    const cancelled = await api.post<Run>(`${runRoute(target, id)}/cancel`, undefined, ctx.signal);
    ctx.out.result(cancelled, () =>
      ctx.out.success(`run ${id} is ${cancelled.state}${cancelled.state === 'running' ? ': stopping' : ''}`),
    );
  },
};

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'Runs of the environment (one-off and cron), newest first',
  usage: ['runs list [--limit <n>]'],
  examples: ['pier runs', 'pier runs --env production --limit 10'],
  options: { limit: { type: 'string', value: 'n', description: 'at most this many (default 50, at most 100)' } },
  async run(ctx, input) {
    positionals(input, []);
    const target = await ctx.target();
    const api = await ctx.api();
    const limit = integerOption(input, 'limit', { min: 1, max: 100 });
    const body = await api.get<{ runs: Run[] }>(path`/apps/${target.app}/environments/${target.env}/runs`, { limit }, ctx.signal);
    ctx.out.result(body, () => printRuns(ctx, body.runs));
  },
};

const runs: CommandSpec = {
  ...list,
  name: 'runs',
  aliases: undefined,
  summary: 'One-off and cron runs of the environment: list, show, cancel',
  usage: ['runs [--limit <n>]', 'runs show <id> [--follow]', 'runs cancel <id>'],
  subcommands: [list, show, cancel],
};

export const RUN_COMMANDS = [run, runs];
