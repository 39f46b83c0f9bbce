import { path } from '../api-client.ts';
import { integerOption, positionals } from '../args.ts';
import type { CommandContext, CommandInput, CommandSpec, Target } from '../command.ts';
import { printable } from '../output.ts';
import { commandText, type Run } from '../run-outcome.ts';
import { relativeTime } from '../units-text.ts';
import { followRun } from './run-follow.ts';
import { printDetached, printRuns } from './run-views.ts';

interface CronJob {
  name: string;
  source: 'api' | 'pier.json';
  schedule: string;
  timeZone: string | null;
  command: string | string[];
  nextRunAt: string | null;
  problem: string | null;
  lastRun: { id: string; state: string; slot: string | null; exitCode: number | null; reason: string | null } | null;
}

function cronRoute(target: Target, job?: string): string {
  const base = path`/apps/${target.app}/environments/${target.env}/cron`;
  return job === undefined ? base : `${base}${path`/${job}`}`;
}

function jobName(input: CommandInput): string {
  return positionals(input, ['name']).name as string;
}

function lastRunText(ctx: CommandContext, last: CronJob['lastRun']): string {
  if (!last) return '-';
  const exit = last.exitCode !== null && last.exitCode !== 0 ? ` (exit ${last.exitCode})` : '';
  return `${ctx.out.state(last.state)}${exit}${last.slot ? ` ${relativeTime(last.slot)}` : ''}`;
}

function printJobs(ctx: CommandContext, jobs: CronJob[]): void {
  if (jobs.length === 0) {
    ctx.out.info('no cron jobs: declare them in pier.json ("cron") or through the API');
    return;
  }
  ctx.out.table(
    ['name', 'schedule', 'command', 'last run', 'next run', 'from'],
    jobs.map((job) => [
      job.name,
      `${printable(job.schedule)}${job.timeZone ? ` (${printable(job.timeZone)})` : ''}`,
      printable(commandText(job.command)),
      lastRunText(ctx, job.lastRun),
      job.problem ? ctx.out.paint.red(printable(job.problem)) : relativeTime(job.nextRunAt),
      job.source,
    ]),
  );
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'Cron jobs with their schedule, command, last run and next run',
  usage: ['cron list'],
  examples: ['pier cron', 'pier cron list --env production --json'],
  async run(ctx, input) {
    positionals(input, []);
    const target = await ctx.target();
    const body = await (await ctx.api()).get<{ jobs: CronJob[] }>(cronRoute(target), undefined, ctx.signal);
    ctx.out.result(body, () => printJobs(ctx, body.jobs));
  },
};

const runs: CommandSpec = {
  name: 'runs',
  summary: 'Runs of a cron job, newest first',
  usage: ['cron runs <name> [--limit <n>]'],
  examples: ['pier cron runs nightly-report', 'pier cron runs nightly-report --limit 5 --env production'],
  options: { limit: { type: 'string', value: 'n', description: 'at most this many (default 50, at most 100)' } },
  async run(ctx, input) {
    const name = jobName(input);
    const limit = integerOption(input, 'limit', { min: 1, max: 100 });
    const target = await ctx.target();
    const body = await (await ctx.api()).get<{ runs: Run[] }>(`${cronRoute(target, name)}/runs`, { limit }, ctx.signal);
    ctx.out.result(body, () => printRuns(ctx, body.runs));
  },
};

const runNow: CommandSpec = {
  name: 'run',
  summary: 'Run a cron job now, outside its schedule, and stream its output',
  usage: ['cron run <name> [--detach]'],
  description: [
    "As `pier run`: the CLI exits with the command's exit code, Ctrl-C stops following and not the run.",
    'A job whose concurrency is forbid is refused while a run of it is queued or running.',
  ].join('\n'),
  examples: ['pier cron run nightly-report', 'pier cron run nightly-report --env production --detach'],
  options: { detach: { type: 'boolean', short: 'd', description: 'print the run id and return without waiting' } },
  async run(ctx, input) {
    const name = jobName(input);
    const target = await ctx.target();
    await ctx.confirmProduction(target, `run cron job ${name} now`);
    const api = await ctx.api();
    const started = await api.post<Run>(`${cronRoute(target, name)}/run`, undefined, ctx.signal);
    if (input.options.detach) return printDetached(ctx, started);
    ctx.out.info(`run ${started.id} of ${name} ${started.state} (Ctrl-C stops following, not the run)`);
    return followRun(ctx, api, target, started);
  },
};

const cron: CommandSpec = {
  ...list,
  name: 'cron',
  aliases: undefined,
  summary: 'Cron jobs of the environment: list, their runs, run one now',
  usage: ['cron', 'cron runs <name> [--limit <n>]', 'cron run <name> [--detach]'],
  subcommands: [list, runs, runNow],
};

export const CRON_COMMANDS = [cron];
