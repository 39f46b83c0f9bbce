import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApiClient } from './api-client.ts';
import { CliError, EXIT, usageError } from './cli-error.ts';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface ChosenApp {
  app: string;
  /** How it was chosen, for the line on stderr: `--app`, `pier.json`, `git remote origin`. */
  source: string;
}

/**
 * The app a command acts on: `--app`, else the `app` of the nearest
 * pier.json (up to the repository's root), else the app whose repository is
 * one of this clone's git remotes.
 */
export async function chooseApp(cwd: string, flag: string | undefined, api: () => Promise<ApiClient>): Promise<ChosenApp> {
  if (flag !== undefined) {
    if (!NAME.test(flag)) throw usageError('--app: must be an app name (a-z, 0-9 and -, starting with a letter)');
    return { app: flag, source: '--app' };
  }
  const pierJson = findPierJson(cwd);
  if (pierJson) {
    const app = appFromPierJson(pierJson);
    if (app) return { app, source: pierJson };
  }
  const remotes = await gitRemotes(cwd);
  if (remotes.length > 0) {
    const { apps } = await (await api()).get<{ apps: { name: string; repository: { fullName: string } | null }[] }>('/apps');
    const matches = new Map<string, string>();
    for (const remote of remotes) {
      for (const app of apps) {
        if (app.repository && app.repository.fullName.toLowerCase() === remote.fullName.toLowerCase()) {
          matches.set(app.name, remote.name);
        }
      }
    }
    if (matches.size === 1) {
      const [[app, remote]] = [...matches] as [[string, string]];
      return { app, source: `git remote ${remote}` };
    }
    if (matches.size > 1) {
      throw usageError(
        `--app: this repository is deployed as several apps (${[...matches.keys()].join(', ')}); pick one with --app`,
      );
    }
    throw new CliError(
      `no app deploys ${remotes.map((r) => r.fullName).join(' or ')}: pass --app, or add "app" to pier.json`,
      EXIT.notFound,
      'not_found',
    );
  }
  throw usageError(
    '--app: no app given; pass --app <name>, add "app" to pier.json, or run inside a clone of the app\'s repository',
  );
}

/** The nearest pier.json from `cwd` up to the folder holding `.git` (or the root). */
export function findPierJson(cwd: string): string | undefined {
  let folder = cwd;
  for (;;) {
    const candidate = join(folder, 'pier.json');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(folder, '.git'))) return undefined;
    const parent = dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}

function appFromPierJson(file: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw usageError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const app = (parsed as { app?: unknown } | null)?.app;
  if (app === undefined) return undefined;
  if (typeof app !== 'string' || !NAME.test(app)) throw usageError(`${file}: app must be an app name (a-z, 0-9 and -)`);
  return app;
}

export interface GitRemote {
  name: string;
  fullName: string;
}

/** This clone's remotes as `owner/name` (origin first); none when git is missing or this is not a clone. */
export async function gitRemotes(cwd: string): Promise<GitRemote[]> {
  const text = await new Promise<string>((resolve) => {
    execFile('git', ['config', '--get-regexp', '^remote\\..*\\.url$'], { cwd, timeout: 5000 }, (err, stdout) =>
      resolve(err ? '' : stdout),
    );
  });
  const remotes: GitRemote[] = [];
  for (const line of text.split('\n')) {
    const match = /^remote\.(.+)\.url (.+)$/.exec(line.trim());
    const fullName = match?.[2] ? repositoryFullName(match[2]) : undefined;
    if (match?.[1] && fullName) remotes.push({ name: match[1], fullName });
  }
  return remotes.sort((a, b) => Number(b.name === 'origin') - Number(a.name === 'origin'));
}

/** `owner/name` of a GitHub-style remote URL (https, ssh, scp-like), without `.git`. */
export function repositoryFullName(url: string): string | undefined {
  const scp = /^[^@/\s]+@[^:/\s]+:(.+)$/.exec(url);
  let pathname: string;
  if (scp?.[1]) pathname = scp[1];
  else {
    try {
      pathname = new URL(url).pathname;
    } catch {
      return undefined;
    }
  }
  const parts = pathname
    .replace(/\.git\/?$/, '')
    .replace(/\/+$/, '')
    .split('/')
    .filter(Boolean);
  if (parts.length < 2) return undefined;
  return parts.slice(-2).join('/');
}

/** Checks the environment name a user typed. */
export function checkEnvName(env: string): string {
  if (!NAME.test(env)) throw usageError('--env: must be an environment name (a-z, 0-9 and -, starting with a letter)');
  return env;
}
