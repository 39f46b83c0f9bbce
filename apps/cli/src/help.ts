import { GLOBAL_OPTIONS } from './args.ts';
import { EXIT } from './cli-error.ts';
import type { CommandSpec, OptionSpec } from './command.ts';

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

/** `pier --help`: every command with its one-line summary. */
export function mainHelp(commands: CommandSpec[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `pier ${version}: deploy and operate apps on your Pier from a terminal`,
    '',
    'Usage: pier <command> [subcommand] [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options every command takes:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'The app comes from --app, else "app" in pier.json, else the git remote matched against the apps\' repositories;',
    'the environment from --env, else staging. Changing production asks first unless --yes.',
    '',
    `Exit codes: ${EXIT.ok} ok, ${EXIT.failure} failed, ${EXIT.usage} usage or invalid input, ${EXIT.auth} not logged in or not allowed,`,
    `  ${EXIT.notFound} not found, ${EXIT.deployFailed} deployment or command failed, ${EXIT.interrupted} interrupted (the server keeps going).`,
    '',
    "Run `pier <command> --help` for a command's options and examples.",
  ].join('\n');
}

/** `pier <command> [sub] --help`. */
export function commandHelp(path: CommandSpec[]): string {
  const command = path[path.length - 1] as CommandSpec;
  const name = path.map((c) => c.name).join(' ');
  const lines = [`pier ${name}: ${command.summary}`, '', 'Usage:', ...command.usage.map((u) => `  pier ${u}`)];
  if (command.description) lines.push('', command.description);
  if (command.subcommands?.length) {
    const width = Math.max(...command.subcommands.map((c) => c.name.length));
    lines.push('', 'Subcommands:', ...command.subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`));
  }
  const own = command.options ?? {};
  if (Object.keys(own).length) lines.push('', 'Options:', ...optionLines(own));
  lines.push('', 'Global options: --app, --env, --server, --json, --yes, --no-color (see `pier --help`)');
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}
