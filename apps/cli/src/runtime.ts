import { spawn } from 'node:child_process';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ApiClient } from './api-client.ts';
import { CliError, EXIT, usageError } from './cli-error.ts';
import type { CommandContext, GlobalOptions, ServerRegistry, Target, TargetOptions } from './command.ts';
import { type CliConfig, configPath, readConfig, SERVER_NAME, selectServer, writeConfig } from './config-file.ts';
import type { Output } from './output.ts';
import { askHidden, askLine, readAll, type Terminal } from './prompt.ts';
import { checkEnvName, chooseApp } from './target.ts';

/** What main.ts read from the process: the only place the CLI reads its environment variables. */
export interface CliEnvironment {
  cwd: string;
  configHome: string;
  /** PIER_TOKEN */
  token?: string;
  /** PIER_URL */
  url?: string;
  /** PIER_SERVER */
  server?: string;
  /** BROWSER: the program `pier open` starts instead of xdg-open/open. */
  browser?: string;
  platform: NodeJS.Platform;
}

/** Builds the context every command runs with. */
export function createContext(options: {
  environment: CliEnvironment;
  global: GlobalOptions;
  out: Output;
  terminal: Terminal;
  cliVersion: string;
  signal: AbortSignal;
}): CommandContext {
  const { environment, global, out, terminal, cliVersion, signal } = options;
  const file = configPath(environment.configHome);
  let config: CliConfig | undefined;
  const loadConfig = () => {
    config ??= readConfig(file);
    return config;
  };
  const makeClient = (url: string, token: string) =>
    new ApiClient({
      url,
      token,
      cliVersion,
      onVersionMismatch: (server) =>
        out.warn(`this pier is ${cliVersion} and the server is ${server}: download the matching CLI from ${url}/cli`),
    });
  let client: ApiClient | undefined;
  const api = async () => {
    if (!client) {
      const { entry } = selectServer(loadConfig(), {
        server: global.server,
        envServer: environment.server,
        envUrl: environment.url,
        envToken: environment.token,
      });
      client = makeClient(entry.url, entry.token);
    }
    return client;
  };
  let chosen: Target | undefined;

  const confirm = async (question: string) => {
    if (global.yes) return;
    if (!terminal.stdin.isTTY) throw usageError(`${question} Pass --yes to confirm without a terminal`);
    const answer = await askLine(terminal, `${question} [y/N] `, signal);
    if (!/^y(es)?$/i.test(answer)) throw new CliError('cancelled: nothing was changed', EXIT.failure, 'cancelled');
  };

  const servers: ServerRegistry = {
    path: file,
    list: () => {
      const current = loadConfig();
      return Object.entries(current.servers).map(([name, entry]) => ({
        name,
        url: entry.url,
        current: name === current.current,
      }));
    },
    save: (name, url, token, makeCurrent) => {
      if (!SERVER_NAME.test(name)) throw usageError('--server: a name of letters, digits, ., _ and -');
      const next = loadConfig();
      next.servers[name] = { url, token };
      if (makeCurrent || !next.current) next.current = name;
      writeConfig(file, next);
    },
    remove: (name) => {
      const next = loadConfig();
      if (!next.servers[name]) return false;
      delete next.servers[name];
      if (next.current === name) next.current = Object.keys(next.servers)[0] ?? null;
      writeConfig(file, next);
      return true;
    },
    use: (name) => {
      const next = loadConfig();
      if (!next.servers[name]) throw new CliError(`no server named ${name}`, EXIT.notFound, 'not_found');
      next.current = name;
      writeConfig(file, next);
    },
    envToken: () => environment.token,
    client: makeClient,
  };

  return {
    out,
    global,
    cliVersion,
    signal,
    cwd: environment.cwd,
    servers,
    api,
    async target(targetOptions: TargetOptions = {}) {
      if (chosen) return chosen;
      const { app, source } = await chooseApp(environment.cwd, global.app, api);
      const env = checkEnvName(global.env ?? targetOptions.defaultEnv ?? 'staging');
      chosen = { app, env };
      const where = targetOptions.appOnly ? `app ${app}` : `app ${app}, environment ${env}`;
      out.info(`${where}${source === '--app' ? '' : ` (app from ${source})`}`);
      return chosen;
    },
    confirm,
    async confirmProduction(target, action) {
      if (target.env !== 'production') return;
      await confirm(`This changes production of ${target.app}: ${action}. Go on?`);
    },
    async confirmTyped(what, expected) {
      if (global.yes) return;
      if (!terminal.stdin.isTTY) throw usageError(`${what}: pass --yes to confirm without a terminal`);
      const answer = await askLine(terminal, `${what}. Type ${expected} to confirm: `, signal);
      if (answer !== expected)
        throw new CliError('cancelled: the name did not match, nothing was changed', EXIT.failure, 'cancelled');
    },
    askSecret: (question) => askHidden(terminal, question),
    async readInput(name) {
      if (name === '-') return readAll(terminal.stdin);
      try {
        return await readFile(isAbsolute(name) ? name : resolve(environment.cwd, name), 'utf8');
      } catch (err) {
        throw usageError(
          `${name}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        );
      }
    },
    async writePrivateFile(name, text) {
      // Written beside the target with mode 600, then renamed over it: an existing file's wider mode never holds secrets.
      const target = isAbsolute(name) ? name : resolve(environment.cwd, name);
      const temporary = `${target}.${process.pid}.tmp`;
      try {
        await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
        await rename(temporary, target);
      } catch (err) {
        await rm(temporary, { force: true });
        throw usageError(`${name}: ${(err as Error).message}`);
      }
    },
    async openUrl(url) {
      // Only a web address goes to the browser (a server-given `file:` or `-flag` never does).
      if (!/^https?:\/\//i.test(url)) return false;
      // BROWSER may hold a program with its arguments (`firefox -P work`), or a colon-separated list: the first.
      const [program, ...args] = (environment.browser?.split(':')[0] ?? '').trim().split(/\s+/).filter(Boolean);
      const opener = program ?? (environment.platform === 'darwin' ? 'open' : 'xdg-open');
      return new Promise<boolean>((done) => {
        const child = spawn(opener, [...args, url], { stdio: 'ignore', detached: true });
        child.once('error', () => done(false));
        child.once('spawn', () => {
          child.unref();
          done(true);
        });
      });
    },
  };
}
