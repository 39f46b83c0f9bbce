import type { CommandContext } from '../command.ts';
import { printable } from '../output.ts';
import { commandText, type Run } from '../run-outcome.ts';
import { durationText, relativeTime } from '../units-text.ts';
import { withTarget } from './run-follow.ts';

/** Runs as a table (shared by `pier runs` and `pier cron runs`). */
export function printRuns(ctx: CommandContext, runs: Run[]): void {
  if (runs.length === 0) {
    ctx.out.info('no runs');
    return;
  }
  ctx.out.table(
    ['id', 'kind', 'state', 'exit', 'command', 'release', 'started by', 'created', 'took'],
    runs.map((r) => [
      r.id,
      r.cron ? `cron ${r.cron}` : r.kind,
      ctx.out.state(r.state),
      r.exitCode,
      printable(commandText(r.command)),
      r.release === null ? null : `v${r.release}`,
      printable(r.startedBy),
      relativeTime(r.createdAt),
      durationText(r.durationMs),
    ]),
  );
}

/** A run's fields (`pier runs show`). */
export function printRun(ctx: CommandContext, run: Run): void {
  ctx.out.fields([
    ['id', run.id],
    ['kind', run.cron ? `cron ${run.cron}` : run.kind],
    ['command', printable(commandText(run.command))],
    ['state', ctx.out.state(run.state)],
    ['exit code', run.exitCode],
    ['reason', run.reason && printable(run.reason)],
    ['release', run.release === null ? null : `v${run.release}`],
    ['started by', printable(run.startedBy)],
    ['timeout', `${run.timeoutSeconds}s`],
    ['created', relativeTime(run.createdAt)],
    ['started', relativeTime(run.startedAt)],
    ['finished', relativeTime(run.finishedAt)],
    ['took', durationText(run.durationMs)],
  ]);
}

/** `--detach`: the run's id on stdout (its object with --json) and how to follow it. */
export function printDetached(ctx: CommandContext, started: Run): void {
  ctx.out.result(started, () => {
    ctx.out.line(started.id);
    ctx.out.info(`run ${started.state}: \`${withTarget(ctx, `pier runs show ${started.id} --follow`)}\` follows its output`);
  });
}
