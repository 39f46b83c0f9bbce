import { DotenvSyntaxError, formatDotenv, parseDotenv } from '@pier/client';
import { path } from '../api-client.ts';
import { positionals, stringOption } from '../args.ts';
import { checkVariableKey, parseVariableAssignments } from '../assignments.ts';
import { usageError } from '../cli-error.ts';
import type { CommandContext, CommandInput, CommandSpec, Target } from '../command.ts';
import { followCommand } from '../follow-deployment.ts';
import { ago, printable } from '../output.ts';

interface Variable {
  key: string;
  /** null unless revealed. */
  value: string | null;
  updatedAt: string;
}

interface Link {
  service: string;
  type: string;
  variables: string[];
}

interface VariableChange {
  set: string[];
  unset: string[];
  configVersion: number;
  /** The redeploy the change started (null: nothing deployed yet, or --no-deploy). */
  deployment: { id: string } | null;
}

/** set, unset and import redeploy the running image with the new variables, as a dashboard's save does. */
const CHANGE_OPTIONS: CommandSpec['options'] = {
  'no-deploy': { type: 'boolean', description: 'only store the change; it applies from the next deployment' },
};

const HIDDEN = '••••••';

function variablesRoute(target: Target): string {
  return path`/apps/${target.app}/environments/${target.env}/variables`;
}

async function fetchVariables(ctx: CommandContext, target: Target, reveal: boolean) {
  const api = await ctx.api();
  return api.get<{ variables: Variable[] }>(variablesRoute(target), reveal ? { reveal: 'true' } : undefined, ctx.signal);
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: "The environment's variables (values hidden unless --reveal)",
  usage: ['env [list] [--reveal]'],
  description: 'Variables injected by linked services are listed too, read-only, with the service they come from.',
  examples: ['pier env', 'pier env list --reveal -e production', 'pier env --json'],
  options: { reveal: { type: 'boolean', description: 'show the values' } },
  run: listVariables,
};

async function listVariables(ctx: CommandContext, input: CommandInput) {
  positionals(input, []);
  const target = await ctx.target();
  const reveal = input.options.reveal === true;
  const body = await fetchVariables(ctx, target, reveal);
  const api = await ctx.api();
  const { links } = await api.get<{ links: Link[] }>(
    path`/apps/${target.app}/environments/${target.env}/links`,
    undefined,
    ctx.signal,
  );
  // The variables' own answer, and the links whose variables are injected (GET …/links).
  if (ctx.out.json) return ctx.out.printJson({ ...body, links });
  const rows = body.variables.map((v) => [v.key, shownValue(ctx, v.value), `set ${ago(v.updatedAt)}`]);
  for (const link of links) {
    for (const key of link.variables) rows.push([key, ctx.out.paint.dim('(injected)'), `link ${link.service} (${link.type})`]);
  }
  if (rows.length === 0) return ctx.out.info(`no variables in ${target.env}: set one with \`pier env set KEY=value\``);
  ctx.out.table(['key', 'value', 'source'], rows);
}

function shownValue(ctx: CommandContext, value: string | null): string {
  if (value === null) return HIDDEN;
  return value === '' ? ctx.out.paint.dim('(empty)') : printable(value);
}

/** Says what a PATCH changed and which redeploy brings it to the replicas. */
function reportChange(ctx: CommandContext, target: Target, change: VariableChange, asked: string[] = []): void {
  ctx.out.result(change, () => {
    const absent = asked.filter((key) => !change.unset.includes(key));
    if (absent.length) ctx.out.info(`not set in ${target.env}: ${absent.join(', ')}`);
    const parts = [
      change.set.length ? `set ${change.set.join(', ')}` : '',
      change.unset.length ? `unset ${change.unset.join(', ')}` : '',
    ].filter(Boolean);
    if (parts.length === 0) return ctx.out.info('nothing changed');
    ctx.out.success(`${parts.join('; ')} in ${target.env} (config version ${change.configVersion})`);
    if (change.deployment) {
      const id = change.deployment.id;
      ctx.out.info(`redeploying the running release with them: deployment ${id} (${followCommand(id)})`);
    } else ctx.out.info('They apply from the next deployment of this environment (`pier deploy`).');
  });
}

/** What the confirmation says: the change, and the redeploy that follows it unless --no-deploy. */
function andRedeploy(input: CommandInput, change: string): string {
  return input.options['no-deploy'] === true ? change : `${change}, then redeploy the running release`;
}

async function sendChange(
  ctx: CommandContext,
  target: Target,
  input: CommandInput,
  body: { set?: Record<string, string>; unset?: string[] },
) {
  const api = await ctx.api();
  return api.patch<VariableChange>(variablesRoute(target), { ...body, redeploy: input.options['no-deploy'] !== true });
}

const set: CommandSpec = {
  name: 'set',
  summary: 'Set variables (all at once)',
  usage: ['env set KEY=VALUE… [--from-stdin KEY] [--no-deploy]'],
  description: [
    'The value is everything after the first = (KEY= sets an empty value). Keys: A-Z, 0-9 and _, not starting with a digit.',
    '--from-stdin KEY reads the value of KEY from stdin (typed without echo on a terminal), so a secret stays out of',
    'the shell history and the process list; surrounding whitespace is dropped.',
  ].join('\n'),
  examples: [
    'pier env set LOG_LEVEL=debug FEATURE_X=1',
    'pier env set GREETING="hello world" -e production --yes',
    'pier env set --from-stdin STRIPE_KEY < stripe-key.txt',
  ],
  options: {
    'from-stdin': { type: 'string', value: 'KEY', description: 'read the value of KEY from stdin' },
    ...CHANGE_OPTIONS,
  },
  async run(ctx, input) {
    const values = parseVariableAssignments(input.positionals);
    const fromStdin = stringOption(input, 'from-stdin');
    if (fromStdin !== undefined) checkVariableKey(fromStdin);
    if (Object.keys(values).length === 0 && fromStdin === undefined) {
      throw usageError('give KEY=VALUE pairs, or --from-stdin KEY (see `pier env set --help`)');
    }
    const target = await ctx.target();
    await ctx.confirmProduction(
      target,
      andRedeploy(input, `set ${[...Object.keys(values), fromStdin].filter(Boolean).join(', ')}`),
    );
    if (fromStdin !== undefined) values[fromStdin] = await ctx.askSecret(`Value of ${fromStdin}: `);
    reportChange(ctx, target, await sendChange(ctx, target, input, { set: values }));
  },
};

const unset: CommandSpec = {
  name: 'unset',
  summary: 'Remove variables',
  usage: ['env unset KEY… [--no-deploy]'],
  options: CHANGE_OPTIONS,
  examples: ['pier env unset FEATURE_X', 'pier env unset OLD_A OLD_B -e production --yes'],
  async run(ctx, input) {
    if (input.positionals.length === 0) throw usageError('missing KEY');
    const keys = [...new Set(input.positionals.map(checkVariableKey))];
    const target = await ctx.target();
    await ctx.confirmProduction(target, andRedeploy(input, `unset ${keys.join(', ')}`));
    reportChange(ctx, target, await sendChange(ctx, target, input, { unset: keys }), keys);
  },
};

const importFile: CommandSpec = {
  name: 'import',
  summary: 'Set every variable of a .env file (all at once)',
  usage: ['env import <file|-> [--no-deploy]'],
  options: CHANGE_OPTIONS,
  description: [
    'Reads KEY=value lines: # comments, blank lines, an `export ` prefix, values bare, in single quotes (literal)',
    'or double quotes (\\n, \\t, \\" and \\\\ escapes). $ is not expanded. A line it cannot read stops it: nothing is sent.',
    'Variables not in the file are kept.',
  ].join('\n'),
  examples: ['pier env import .env', 'pier env export -e production | pier env import - -e staging'],
  async run(ctx, input) {
    const { file } = positionals(input, ['file']) as { file: string };
    const text = await ctx.readInput(file);
    let values: Map<string, string>;
    try {
      values = parseDotenv(text);
    } catch (err) {
      if (!(err instanceof DotenvSyntaxError)) throw err;
      throw usageError(`${file === '-' ? 'stdin' : file}: ${err.message}; nothing was sent`);
    }
    if (values.size === 0) throw usageError(`${file === '-' ? 'stdin' : file}: no variables in it`);
    const target = await ctx.target();
    await ctx.confirmProduction(
      target,
      andRedeploy(input, `set ${values.size} variable(s) from ${file === '-' ? 'stdin' : file}`),
    );
    reportChange(ctx, target, await sendChange(ctx, target, input, { set: Object.fromEntries(values) }));
  },
};

const exportFile: CommandSpec = {
  name: 'export',
  summary: 'Write the variables as a .env file (mode 600), or to stdout',
  usage: ['env export [file]'],
  description: 'Values are quoted so that `pier env import` reads them back exactly. Injected variables are not written.',
  examples: ['pier env export .env.staging', 'pier env export -e production > prod.env'],
  async run(ctx, input) {
    const { file } = positionals(input, [], ['file']);
    const target = await ctx.target();
    const body = await fetchVariables(ctx, target, true);
    const text = formatDotenv(body.variables.map((v) => [v.key, v.value ?? '']));
    if (file === undefined || file === '-') return ctx.out.json ? ctx.out.printJson(body) : ctx.out.write(text);
    await ctx.writePrivateFile(file, text);
    // The values went to the file only: --json names the keys.
    ctx.out.result({ file, keys: body.variables.map((v) => v.key) }, () =>
      ctx.out.success(`wrote ${body.variables.length} variable(s) of ${target.env} to ${file} (mode 600)`),
    );
  },
};

const env: CommandSpec = {
  name: 'env',
  summary: "List, set, unset, import and export an environment's variables",
  usage: ['env [list] [--reveal]', 'env set KEY=VALUE…', 'env unset KEY…', 'env import <file|->', 'env export [file]'],
  description:
    'Acts on --env (default staging) of the app. set, unset and import redeploy the running release with the new\nvariables (health-gated, no build) unless --no-deploy; before the first deployment they wait for it.',
  examples: ['pier env', 'pier env set LOG_LEVEL=debug', 'pier env import .env -e production'],
  options: list.options,
  subcommands: [list, set, unset, importFile, exportFile],
  run: listVariables,
};

export const VARIABLE_COMMANDS = [env];
