import { type ApiClient, path } from '../api-client.ts';
import { CliError, EXIT } from '../cli-error.ts';
import type { CommandContext, Target } from '../command.ts';
import { printable } from '../output.ts';
import { type Run, runExitCode } from '../run-outcome.ts';

interface OutputLine {
  stream: string;
  line: string;
  at: string;
}

/** The route of a run of the target environment. */
export function runRoute(target: Target, id: string): string {
  return path`/apps/${target.app}/environments/${target.env}/runs/${id}`;
}

/** A follow-up command with `--app`/`--env` as the user gave them, so it acts on the same app and environment. */
export function withTarget(ctx: CommandContext, command: string): string {
  const flags = [ctx.global.app && `--app ${ctx.global.app}`, ctx.global.env && `--env ${ctx.global.env}`];
  return [command, ...flags].filter(Boolean).join(' ');
}

/**
 * Streams a run's output (stdout lines to stdout, stderr and Pier's own
 * lines to stderr; NDJSON with --json) until it ends, then resolves to the
 * command's exit code. Ctrl-C stops following only: the run keeps going.
 */
export async function followRun(ctx: CommandContext, api: ApiClient, target: Target, run: Run): Promise<number> {
  const route = runRoute(target, run.id);
  let lastLine = 0;
  let streamError: CliError | undefined;
  let ended = false;
  let quietCloses = 0;
  while (!ended && !ctx.signal.aborted) {
    const before = lastLine;
    try {
      await api.stream(
        `${route}/output`,
        { after: lastLine || undefined },
        (event) => {
          if (event.event === 'line') {
            if (event.id) lastLine = Number(event.id);
            printLine(ctx, JSON.parse(event.data) as OutputLine);
          } else if (event.event === 'end') ended = true;
          else if (event.event === 'error') {
            streamError = streamFailure(event.data);
            return 'stop';
          }
        },
        ctx.signal,
      );
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
    }
    if (streamError) throw streamError;
    // Closed without `end` (the api restarted): resume after the last line, unless it keeps closing with nothing new.
    quietCloses = lastLine === before ? quietCloses + 1 : 0;
    if (!ended && quietCloses > 5) {
      throw new CliError(`the output stream of run ${run.id} keeps closing: see \`pier runs show ${run.id}\``, EXIT.failure);
    }
  }
  if (ctx.signal.aborted) {
    const show = withTarget(ctx, `pier runs show ${run.id} --follow`);
    const cancel = withTarget(ctx, `pier runs cancel ${run.id}`);
    ctx.out.info(`\nstopped following; run ${run.id} keeps going: \`${show}\` follows it again, \`${cancel}\` stops it`);
    return EXIT.interrupted;
  }
  return finish(ctx, await api.get<Run>(route, undefined, ctx.signal));
}

/** The run's object (last NDJSON line with --json), and the exit code (Pier's own last line said how it ended). */
function finish(ctx: CommandContext, run: Run): number {
  if (ctx.out.json) ctx.out.write(`${JSON.stringify(run)}\n`);
  return runExitCode(run);
}

function printLine(ctx: CommandContext, line: OutputLine): void {
  if (ctx.out.json) {
    ctx.out.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const text = `${printable(line.line)}\n`;
  if (line.stream === 'stdout') ctx.out.write(text);
  else if (line.stream === 'stderr') ctx.out.streams.stderr.write(text);
  else ctx.out.info(printable(line.line));
}

function streamFailure(data: string): CliError {
  try {
    const error = JSON.parse(data) as { code?: string; message?: string };
    return new CliError(`the output stream failed: ${printable(error.message ?? 'no reason given')}`, EXIT.failure, error.code);
  } catch {
    return new CliError('the output stream failed', EXIT.failure);
  }
}
