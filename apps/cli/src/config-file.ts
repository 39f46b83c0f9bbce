import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError, EXIT, usageError } from './cli-error.ts';

/** One Pier the CLI talks to. */
export interface ServerEntry {
  url: string;
  token: string;
}

/** `~/.config/pier/config.json`: servers by name and the one used by default. Mode 600. */
export interface CliConfig {
  current: string | null;
  servers: Record<string, ServerEntry>;
}

export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function configPath(configHome: string): string {
  return join(configHome, 'pier', 'config.json');
}

export function readConfig(path: string): CliConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { current: null, servers: {} };
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON: fix it or remove it and run \`pier login\` again`);
  }
  const config = parsed as Partial<CliConfig>;
  const servers: Record<string, ServerEntry> = {};
  for (const [name, entry] of Object.entries(config.servers ?? {})) {
    if (entry && typeof entry.url === 'string' && typeof entry.token === 'string') servers[name] = entry;
  }
  const current = typeof config.current === 'string' && servers[config.current] ? config.current : null;
  return { current, servers };
}

/** Writes the file with mode 600 (its folder 700), replacing it in one rename so a crash never leaves half of it. */
export function writeConfig(path: string, config: CliConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/**
 * Where a command connects: `--server`, else PIER_SERVER (each with its saved token), else PIER_URL + PIER_TOKEN
 * (CI, no file), else the current server, whose token PIER_TOKEN alone replaces.
 */
export function selectServer(
  config: CliConfig,
  choice: { server?: string; envServer?: string; envUrl?: string; envToken?: string },
): { name: string; entry: ServerEntry } {
  const wanted = choice.server ?? choice.envServer;
  if (wanted) {
    const entry = config.servers[wanted];
    if (!entry) {
      const known = Object.keys(config.servers);
      throw usageError(
        `--server: no server named ${wanted}${known.length ? ` (known: ${known.join(', ')})` : ''}; run \`pier login <url> --server ${wanted}\``,
      );
    }
    // A server named on purpose keeps its own token: PIER_TOKEN exported for another one must not reach it.
    return { name: wanted, entry };
  }
  if (choice.envUrl && choice.envToken) return { name: 'environment', entry: { url: choice.envUrl, token: choice.envToken } };
  const current = config.current ? config.servers[config.current] : undefined;
  if (config.current && current) {
    return { name: config.current, entry: choice.envToken ? { ...current, token: choice.envToken } : current };
  }
  throw new CliError('not logged in: run `pier login <url>` (or set PIER_URL and PIER_TOKEN)', EXIT.auth, 'not_logged_in');
}

/** A server URL as the CLI stores it: http(s), no credentials, no query, no trailing slash. */
export function normalizeServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw usageError(`url: ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usageError('url: must be http:// or https://');
  if (url.username || url.password) throw usageError('url: must not hold a user or password; the token is asked for');
  if (url.search || url.hash) throw usageError('url: must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}
