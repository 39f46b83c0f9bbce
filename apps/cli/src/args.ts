import { parseArgs } from 'node:util';
import { usageError } from './cli-error.ts';
import type { CommandInput, CommandSpec, GlobalOptions, OptionSpec } from './command.ts';

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  app: { type: 'string', short: 'a', value: 'name', description: 'the app (default: pier.json, then the git remote)' },
  env: { type: 'string', short: 'e', value: 'name', description: 'the environment (default: staging)' },
  server: { type: 'string', short: 's', value: 'name', description: 'a server saved by `pier login --server`' },
  json: { type: 'boolean', description: "print the API's own objects as JSON" },
  yes: { type: 'boolean', short: 'y', description: 'answer yes to confirmations (needed without a terminal)' },
  'no-color': { type: 'boolean', description: 'no colour (also NO_COLOR)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export interface ParsedCommandLine {
  /** The command and subcommand chain (`['env', 'set']`); empty for bare `pier`. */
  path: CommandSpec[];
  input: CommandInput;
  global: GlobalOptions;
  help: boolean;
  noColor: boolean;
  version: boolean;
}

/**
 * Finds the command (and subcommand) among the words of `argv`, then parses
 * the rest with the global options plus that command's own. Unknown options
 * and missing values are usage errors naming the option.
 */
export function parseCommandLine(argv: string[], commands: CommandSpec[]): ParsedCommandLine {
  const dashDash = argv.indexOf('--');
  const words = dashDash < 0 ? argv : argv.slice(0, dashDash);
  const rest = dashDash < 0 ? [] : argv.slice(dashDash + 1);

  const path: CommandSpec[] = [];
  const remaining = [...words];
  let available = commands;
  let options = { ...GLOBAL_OPTIONS };
  for (;;) {
    const index = firstWord(remaining, options);
    if (index < 0) break;
    const word = remaining[index] as string;
    const found = available.find((c) => c.name === word || c.aliases?.includes(word));
    if (!found) {
      if (path.length === 0) throw usageError(`unknown command ${JSON.stringify(word)}: run \`pier --help\` for the list`);
      break;
    }
    path.push(found);
    remaining.splice(index, 1);
    // A subcommand takes its own options, not its parent's (`pier env set` has no --reveal).
    options = { ...GLOBAL_OPTIONS, ...found.options };
    if (!found.subcommands?.length) break;
    available = found.subcommands;
  }
  if (remaining.includes('--version') && path.length === 0) {
    return {
      path,
      input: { options: {}, positionals: [], rest },
      global: { json: false, yes: false },
      help: false,
      noColor: false,
      version: true,
    };
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: remaining,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw usageError(describeParseError(err as Error, path));
  }
  const values = parsed.values as CommandInput['options'];
  const global: GlobalOptions = {
    app: values.app as string | undefined,
    env: values.env as string | undefined,
    server: values.server as string | undefined,
    json: values.json === true,
    yes: values.yes === true,
  };
  return {
    path,
    input: { options: values, positionals: parsed.positionals, rest },
    global,
    help: values.help === true,
    noColor: values['no-color'] === true,
    version: false,
  };
}

/** The index of the first word that is neither an option nor an option's value. */
function firstWord(args: string[], options: Record<string, OptionSpec>): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('-') || arg === '-') return i;
    if (arg.includes('=')) continue;
    const spec = arg.startsWith('--')
      ? options[arg.slice(2)]
      : Object.values(options).find((o) => o.short === arg.slice(1, 2) && arg.length === 2);
    if (spec?.type === 'string') i++;
  }
  return -1;
}

function describeParseError(err: Error, path: CommandSpec[]): string {
  const where = path.length ? `pier ${path.map((c) => c.name).join(' ')} --help` : 'pier --help';
  const message = err.message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, '');
  return `${message} (see \`${where}\`)`;
}

/** The value of a string option, or undefined. */
export function stringOption(input: CommandInput, name: string): string | undefined {
  const value = input.options[name];
  return typeof value === 'string' ? value : undefined;
}

/** A positive whole number option (`--tail 100`), or a usage error naming it. */
export function integerOption(input: CommandInput, name: string, range: { min: number; max: number }): number | undefined {
  const text = stringOption(input, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < range.min || value > range.max) {
    throw usageError(`--${name}: must be a whole number from ${range.min} to ${range.max}`);
  }
  return value;
}

/** Exactly `count` positionals, or a usage error naming what is missing. */
export function positionals(input: CommandInput, names: string[], optional: string[] = []): Record<string, string> {
  const given = input.positionals;
  if (given.length < names.length) throw usageError(`missing ${names[given.length]}`);
  if (given.length > names.length + optional.length) {
    throw usageError(`unexpected argument ${JSON.stringify(given[names.length + optional.length])}`);
  }
  return Object.fromEntries([...names, ...optional].map((name, i) => [name, given[i]]).filter(([, v]) => v !== undefined));
}
