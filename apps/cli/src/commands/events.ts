import { type ApiClient, path, type Query, sleep } from '../api-client.ts';
import { integerOption, positionals, stringOption } from '../args.ts';
import { EXIT } from '../cli-error.ts';
import type { CommandContext, CommandSpec } from '../command.ts';
import { EventCursor, type PierEvent } from '../event-cursor.ts';
import { printable } from '../output.ts';
import { relativeTime } from '../units-text.ts';

const FOLLOW_INTERVAL_MS = 2000;

interface EventPage {
  events: PierEvent[];
  next: number | null;
}

function paintKind(ctx: CommandContext, event: PierEvent): string {
  if (event.severity === 'critical' || event.severity === 'error') return ctx.out.paint.red(event.kind);
  if (event.severity === 'warning') return ctx.out.paint.yellow(event.kind);
  return event.kind;
}

function printTable(ctx: CommandContext, events: PierEvent[], withApp: boolean): void {
  if (events.length === 0) {
    ctx.out.info('no events');
    return;
  }
  ctx.out.table(
    ['time', 'kind', ...(withApp ? ['app'] : []), 'environment', 'message'],
    events.map((e) => [
      relativeTime(e.at),
      paintKind(ctx, e),
      ...(withApp ? [e.app ?? 'host'] : []),
      e.env,
      printable(e.message),
    ]),
  );
}

/** One event as a line (`--follow`): its time, so lines printed minutes apart stay readable. */
function printLine(ctx: CommandContext, event: PierEvent, withApp: boolean): void {
  if (ctx.out.json) {
    ctx.out.write(`${JSON.stringify(event)}\n`);
    return;
  }
  const where = [withApp ? (event.app ?? 'host') : undefined, event.env ?? undefined].filter(Boolean).join(' ');
  const kind = paintKind(ctx, event) + ' '.repeat(Math.max(1, 22 - event.kind.length));
  ctx.out.line(`${ctx.out.paint.dim(event.at)}  ${kind}${where ? `${where}  ` : ''}${printable(event.message)}`);
}

/** Polls for events newer than the last printed, until Ctrl-C. */
async function follow(ctx: CommandContext, read: (query: Query) => Promise<EventPage>, query: Query, withApp: boolean) {
  const cursor = new EventCursor();
  const first = await read(query);
  for (const event of cursor.take(first.events)) printLine(ctx, event, withApp);
  ctx.out.info('following: new events appear below (Ctrl-C stops)');
  while (!ctx.signal.aborted) {
    await sleep(FOLLOW_INTERVAL_MS, ctx.signal);
    if (ctx.signal.aborted) break;
    try {
      const page = await read({ ...query, limit: 200, since: cursor.since });
      for (const event of cursor.take(page.events)) printLine(ctx, event, withApp);
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
    }
  }
  // Ctrl-C is how one stops following, as with `logs -f`: not a failure.
  return EXIT.ok;
}

const events: CommandSpec = {
  name: 'events',
  summary: "The app's event log (deploys, crashes, rollbacks, backups…), oldest to newest",
  usage: ['events [--limit <n>] [--kind <kinds>] [--all] [--follow]'],
  description: [
    "Without --all, the target app's events; with --all, the whole installation's, the host's included (admin).",
    '--follow keeps polling for new events; with --json it prints one event per line (NDJSON).',
  ].join('\n'),
  examples: ['pier events', 'pier events --kind deploy.failed,crash.loop --limit 20', 'pier events --all --follow'],
  options: {
    limit: { type: 'string', value: 'n', description: 'the newest n events (default 50, at most 200)' },
    kind: { type: 'string', value: 'kinds', description: 'only these kinds, comma separated (deploy.failed,crash.loop)' },
    all: { type: 'boolean', description: "every app's and the host's events, not the target app's (admin)" },
    follow: { type: 'boolean', short: 'f', description: 'keep printing new events as they are recorded' },
  },
  async run(ctx, input) {
    positionals(input, []);
    const all = input.options.all === true;
    const query: Query = { limit: integerOption(input, 'limit', { min: 1, max: 200 }), kind: stringOption(input, 'kind') };
    const route = all ? '/events' : path`/apps/${(await ctx.target({ appOnly: true })).app}/events`;
    const api: ApiClient = await ctx.api();
    const read = (q: Query) => api.get<EventPage>(route, q, ctx.signal);
    if (input.options.follow) return follow(ctx, read, query, all);
    const page = await read(query);
    ctx.out.result(page, () => printTable(ctx, [...page.events].reverse(), all));
  },
};

export const EVENT_COMMANDS = [events];
