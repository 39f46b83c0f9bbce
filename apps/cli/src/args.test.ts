import { describe, expect, it } from 'vitest';
import { integerOption, parseCommandLine, positionals } from './args.ts';
import { CliError, EXIT } from './cli-error.ts';
import type { CommandSpec } from './command.ts';

const noop = async () => {};

const COMMANDS: CommandSpec[] = [
  {
    name: 'env',
    summary: 'variables',
    usage: ['env'],
    run: noop,
    options: { reveal: { type: 'boolean', description: 'show values' } },
    subcommands: [
      {
        name: 'set',
        summary: 'set',
        usage: ['env set KEY=VALUE…'],
        options: { 'from-stdin': { type: 'string', value: 'key', description: 'read a value from stdin' } },
        run: noop,
      },
      { name: 'list', aliases: ['ls'], summary: 'list', usage: ['env list'], run: noop },
    ],
  },
  {
    name: 'logs',
    summary: 'logs',
    usage: ['logs'],
    options: {
      follow: { type: 'boolean', short: 'f', description: 'follow' },
      grep: { type: 'string', value: 'text', description: 'only lines holding text' },
    },
    run: noop,
  },
  { name: 'run', summary: 'run', usage: ['run -- <command…>'], run: noop },
];

function names(argv: string[]): string[] {
  return parseCommandLine(argv, COMMANDS).path.map((c) => c.name);
}

function usageFailure(argv: string[]): CliError {
  try {
    parseCommandLine(argv, COMMANDS);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    return err as CliError;
  }
  throw new Error(`${argv.join(' ')} parsed without an error`);
}

describe('parseCommandLine', () => {
  it('finds the command and its subcommand with global options before, between and after them', () => {
    expect(names(['env', 'set', 'A=1'])).toEqual(['env', 'set']);
    expect(names(['--app', 'web', 'env', 'set', 'A=1'])).toEqual(['env', 'set']);
    expect(names(['env', '-a', 'web', 'set', 'A=1', '--json'])).toEqual(['env', 'set']);
    expect(names(['env', 'ls'])).toEqual(['env', 'list']);
    const parsed = parseCommandLine(['-e', 'production', 'env', 'set', 'A=1', 'B=2', '--yes', '-a', 'web'], COMMANDS);
    expect(parsed.global).toEqual({ app: 'web', env: 'production', server: undefined, json: false, yes: true });
    expect(parsed.input.positionals).toEqual(['A=1', 'B=2']);
  });

  it('keeps a command without a matching subcommand, the word becoming a positional', () => {
    const parsed = parseCommandLine(['env', 'A=1'], COMMANDS);
    expect(parsed.path.map((c) => c.name)).toEqual(['env']);
    expect(parsed.input.positionals).toEqual(['A=1']);
  });

  it('does not take the value of a string option for a command', () => {
    // `set` is --app's value here, not env's subcommand.
    const parsed = parseCommandLine(['env', '--app', 'set', '--reveal'], COMMANDS);
    expect(parsed.path.map((c) => c.name)).toEqual(['env']);
    expect(parsed.global.app).toBe('set');
    expect(parsed.input.options.reveal).toBe(true);
    // A command's own string option, before its subcommand's name.
    const own = parseCommandLine(['logs', '--grep', 'run'], COMMANDS);
    expect(own.path.map((c) => c.name)).toEqual(['logs']);
    expect(own.input.options.grep).toBe('run');
    expect(names(['--server=run', 'logs'])).toEqual(['logs']);
  });

  it('hands everything after -- over untouched, options included', () => {
    const parsed = parseCommandLine(['run', '--app', 'web', '--', 'sh', '-c', 'echo --json; exit 3'], COMMANDS);
    expect(parsed.path.map((c) => c.name)).toEqual(['run']);
    expect(parsed.input.rest).toEqual(['sh', '-c', 'echo --json; exit 3']);
    expect(parsed.global.json).toBe(false);
    expect(parsed.input.positionals).toEqual([]);
  });

  it('refuses an unknown option, naming it and the help to read', () => {
    const err = usageFailure(['logs', '--follw']);
    expect(err.message).toContain('--follw');
    expect(err.message).toContain('pier logs --help');
    // An option of another command is unknown here.
    expect(usageFailure(['env', 'list', '--grep', 'x']).message).toContain('--grep');
  });

  it('refuses a string option without its value, and an unknown command', () => {
    expect(usageFailure(['logs', '--grep']).message).toContain('--grep');
    expect(usageFailure(['deploi']).message).toContain('"deploi"');
  });

  it('answers --version and --help without a command', () => {
    expect(parseCommandLine(['--version'], COMMANDS).version).toBe(true);
    expect(parseCommandLine(['logs', '-h'], COMMANDS).help).toBe(true);
    expect(parseCommandLine(['logs', '-f'], COMMANDS).input.options.follow).toBe(true);
    expect(parseCommandLine([], COMMANDS).path).toEqual([]);
  });
});

describe('option helpers', () => {
  const input = (options: Record<string, string>, given: string[] = []) => ({ options, positionals: given, rest: [] });

  it('reads whole numbers in range and names the option otherwise', () => {
    expect(integerOption(input({ tail: '20' }), 'tail', { min: 1, max: 100 })).toBe(20);
    expect(integerOption(input({}), 'tail', { min: 1, max: 100 })).toBeUndefined();
    for (const bad of ['0', '101', '2.5', '-1', 'ten', '']) {
      expect(() => integerOption(input({ tail: bad }), 'tail', { min: 1, max: 100 })).toThrow(/^--tail: /);
    }
  });

  it('names the missing or unexpected positional', () => {
    expect(positionals(input({}, ['a']), ['name'], ['version'])).toEqual({ name: 'a' });
    expect(positionals(input({}, ['a', 'b']), ['name'], ['version'])).toEqual({ name: 'a', version: 'b' });
    expect(() => positionals(input({}, []), ['name'])).toThrow('missing name');
    expect(() => positionals(input({}, ['a', 'b']), ['name'])).toThrow('unexpected argument "b"');
  });
});
