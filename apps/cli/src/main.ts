#!/usr/bin/env node
// `pier`: the command-line client of Pier's REST API. Bundled into one file
// (scripts/build-cli.ts) that Pier serves at /cli.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from './args.ts';
import { CliError, EXIT } from './cli-error.ts';
import { COMMANDS } from './commands/index.ts';
import { commandHelp, mainHelp } from './help.ts';
import { Output, printable } from './output.ts';
import { createContext } from './runtime.ts';
import { CLI_VERSION } from './version.ts';

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  // NO_COLOR counts when set to something (no-color.org); TERM=dumb terminals show codes as text.
  const colorWanted = !env.NO_COLOR && env.TERM !== 'dumb';
  let out = new Output(process, { json: false, color: colorWanted });
  const abort = new AbortController();
  let interrupted = false;
  process.on('SIGINT', () => {
    // A second Ctrl-C while the first one's cleanup waits ends at once.
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    abort.abort();
  });
  // `pier … | head` closes the pipe early: stop quietly, as a Unix tool does.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      throw err;
    });
  }
  try {
    // `pier help deploy` is `pier deploy --help`.
    const words = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
    const parsed = parseCommandLine(words, COMMANDS);
    if (parsed.version) {
      out.line(`pier ${CLI_VERSION}`);
      return EXIT.ok;
    }
    out = new Output(process, {
      json: parsed.global.json,
      color: colorWanted && !parsed.noColor,
    });
    const command = parsed.path[parsed.path.length - 1];
    if (!command || parsed.help || !command.run) {
      if (!command) out.line(mainHelp(COMMANDS, CLI_VERSION));
      else out.line(commandHelp(parsed.path));
      return command && !parsed.help && !command.run ? EXIT.usage : EXIT.ok;
    }
    const context = createContext({
      environment: {
        cwd: process.cwd(),
        configHome: env.XDG_CONFIG_HOME || join(homedir(), '.config'),
        token: env.PIER_TOKEN || undefined,
        url: env.PIER_URL || undefined,
        server: env.PIER_SERVER || undefined,
        browser: env.BROWSER || undefined,
        platform: process.platform,
      },
      global: parsed.global,
      out,
      terminal: { stdin: process.stdin, stderr: process.stderr },
      cliVersion: CLI_VERSION,
      signal: abort.signal,
    });
    const code = await command.run(context, parsed.input);
    return typeof code === 'number' ? code : EXIT.ok;
  } catch (err) {
    if (abort.signal.aborted && !(err instanceof CliError && err.exitCode !== EXIT.interrupted)) {
      process.stderr.write('\ninterrupted\n');
      return EXIT.interrupted;
    }
    if (err instanceof CliError) {
      const code = err.code && err.code !== 'usage' ? ` (${printable(err.code)})` : '';
      process.stderr.write(`${out.errPaint.red('error:')} ${oneLine(err.message)}${code}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${out.errPaint.red('error:')} ${oneLine((err as Error).message ?? String(err))}\n`);
    return EXIT.failure;
  }
}

/** An error as one line, without control sequences (its text may be the server's). */
function oneLine(text: string): string {
  return printable(text.replace(/\s*[\r\n]+\s*/g, ' ')).trim();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failure;
  },
);
