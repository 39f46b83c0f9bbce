import { path, type Query } from '../api-client.ts';
import { integerOption, positionals, stringOption } from '../args.ts';
import { CliError, EXIT } from '../cli-error.ts';
import type { CommandSpec } from '../command.ts';
import { printable } from '../output.ts';
import { timeOption } from '../time-option.ts';

/** One stored line as `GET …/logs` shows it. */
export interface LogLine {
  id: number;
  at: string;
  replica: string;
  process: string;
  release: number | null;
  stream: string;
  line: string;
}

/** `pier-app-staging-v3-419402` → `419402`: enough to tell a process type's replicas apart. */
export function replicaShort(replica: string): string {
  return replica.slice(replica.lastIndexOf('-') + 1);
}

/** `<time> <process>.<replica> <text>`, the prefix through `dim`, the app's text made safe for a terminal. */
export function logLineText(line: LogLine, dim: (text: string) => string = (text) => text): string {
  const who = line.replica ? `${line.process}.${replicaShort(line.replica)}` : line.process;
  return `${dim(`${line.at} ${who}`)} ${printable(line.line)}`;
}

export const logs: CommandSpec = {
  name: 'logs',
  summary: "The environment's logs: its replicas, release commands, runs and cron jobs",
  usage: [
    'logs [-f|--follow] [--since <time>] [--until <time>] [--process <type>] [--replica <name>] [--grep <text>] [--tail <n>]',
  ],
  description: [
    'Lines come from the log store, so those of replaced or crashed replicas stay readable until retention removes them.',
    'A time is ISO 8601 (2026-05-01T12:00:00Z; without an offset it is local) or how long ago: 30s, 15m, 2h, 3d.',
    '-f follows new lines until Ctrl-C, resuming by itself after a dropped connection.',
    'With --json: the API body, or one JSON line object per line (NDJSON) when following.',
  ].join('\n'),
  examples: [
    'pier logs',
    'pier logs -f --process web',
    'pier logs --since 2h --grep timeout --env production',
    'pier logs --since 2026-05-01T12:00:00Z --until 2026-05-01T13:00:00Z --tail 1000',
    'pier logs -f --json | jq -r .line',
  ],
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until Ctrl-C' },
    since: { type: 'string', value: 'time', description: 'only lines written at or after this time' },
    until: { type: 'string', value: 'time', description: 'only lines written at or before this time' },
    process: { type: 'string', value: 'type', description: 'only this process type (web, worker, release, run, cron…)' },
    replica: { type: 'string', value: 'name', description: 'only this container (its full name, as --json shows it)' },
    grep: { type: 'string', value: 'text', description: 'only lines containing this text (case-insensitive, literal)' },
    tail: { type: 'string', value: 'n', description: 'the newest n lines that match (default 100, at most 10000)' },
  },
  async run(ctx, input) {
    positionals(input, []);
    const since = stringOption(input, 'since');
    const until = stringOption(input, 'until');
    const follow = input.options.follow === true;
    const query: Query = {
      since: since === undefined ? undefined : timeOption('since', since),
      until: until === undefined ? undefined : timeOption('until', until),
      process: stringOption(input, 'process'),
      replica: stringOption(input, 'replica'),
      text: stringOption(input, 'grep'),
      tail: integerOption(input, 'tail', { min: 0, max: 10_000 }),
    };
    const target = await ctx.target();
    const api = await ctx.api();
    const route = path`/apps/${target.app}/environments/${target.env}/logs`;
    const { out } = ctx;
    const print = (line: LogLine) => out.line(logLineText(line, out.paint.dim));

    if (!follow) {
      const body = await api.get<{ lines: LogLine[]; truncated?: boolean }>(route, query, ctx.signal);
      out.result(body, () => body.lines.forEach(print));
      if (body.truncated) out.warn('more lines matched than one answer holds: narrow --since/--until or lower --tail');
      return;
    }
    let failure: CliError | undefined;
    try {
      await api.stream(
        route,
        { ...query, follow: 1 },
        (event) => {
          if (event.event === 'line') {
            if (out.json) out.line(event.data);
            else print(JSON.parse(event.data) as LogLine);
          } else if (event.event === 'error') {
            const error = JSON.parse(event.data) as { code?: string; message?: string };
            failure = new CliError(printable(error.message ?? 'the log stream failed'), EXIT.failure, error.code);
            return 'stop';
          }
        },
        ctx.signal,
      );
    } catch (err) {
      // Ctrl-C is how following ends: not a failure.
      if (!ctx.signal.aborted) throw err;
    }
    if (failure) throw failure;
  },
};

export const LOG_COMMANDS = [logs];
