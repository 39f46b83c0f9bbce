import type { ApiClient } from './api-client.ts';
import type { Output } from './output.ts';

/** One option of a command, as `util.parseArgs` takes it, plus what `--help` says. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in help: `--since <time>`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** What the command line held for one command. */
export interface CommandInput {
  options: OptionValues;
  positionals: string[];
  /** What followed `--` (for `pier run -- <command>`). */
  rest: string[];
}

/** The options every command takes. */
export interface GlobalOptions {
  app?: string;
  env?: string;
  server?: string;
  json: boolean;
  yes: boolean;
}

/** An app and environment a command acts on, and how it was chosen (printed on stderr). */
export interface Target {
  app: string;
  env: string;
}

export interface TargetOptions {
  /** Default `staging`. */
  defaultEnv?: string;
  /** The command needs no environment (only the app). */
  appOnly?: boolean;
}

/** Everything a command may use: the API, the output, the user's choices, prompts, Ctrl-C. */
export interface CommandContext {
  out: Output;
  global: GlobalOptions;
  cliVersion: string;
  /** The logged-in server's API (the token stays inside). */
  api(): Promise<ApiClient>;
  /** The app and environment: flags, then pier.json, then the git remote; says on stderr which it chose. */
  target(options?: TargetOptions): Promise<Target>;
  /** Asks yes/no on the terminal; `--yes` answers yes; without a terminal and without `--yes` it is a usage error. */
  confirm(question: string): Promise<void>;
  /** Asks before changing production (`--yes` skips it). */
  confirmProduction(target: Target, action: string): Promise<void>;
  /** Makes the user type `expected` (app deletion); `--yes` skips it. */
  confirmTyped(what: string, expected: string): Promise<void>;
  /** Reads a line from the terminal without echoing it (a token). */
  askSecret(question: string): Promise<string>;
  /** Reads a whole file (`-` for stdin). */
  readInput(file: string): Promise<string>;
  /** Writes a file with mode 600 (an exported `.env`). */
  writePrivateFile(file: string, text: string): Promise<void>;
  /** Opens a URL in the user's browser (no shell; the URL is one argument). */
  openUrl(url: string): Promise<boolean>;
  /** Aborted on Ctrl-C: long waits stop and say how to resume. */
  signal: AbortSignal;
  /** The folder the command runs in. */
  cwd: string;
  /** The server's name and URL (for `login`, `logout`, `servers`), and the config file's handling. */
  servers: ServerRegistry;
}

export interface ServerRegistry {
  list(): { name: string; url: string; current: boolean }[];
  save(name: string, url: string, token: string, makeCurrent: boolean): void;
  remove(name: string): boolean;
  use(name: string): void;
  /** PIER_TOKEN, when set. */
  envToken(): string | undefined;
  /** An API client for a URL and token not saved yet (login checks the token before saving it). */
  client(url: string, token: string): ApiClient;
  path: string;
}

export interface CommandSpec {
  name: string;
  /** Other names (`ls` for `list`). */
  aliases?: string[];
  summary: string;
  /** Usage lines without the leading `pier `. */
  usage: string[];
  description?: string;
  examples?: string[];
  options?: Record<string, OptionSpec>;
  /** `pier env set …`: the first positional picks one of these. */
  subcommands?: CommandSpec[];
  /** Runs when no subcommand is named (`pier env` lists); resolves to an exit code, or nothing for 0. */
  run?(ctx: CommandContext, input: CommandInput): Promise<unknown>;
}
