import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RepoAccess, ValidationError } from '@pier/core';
import type { CloneUrl } from './clone-url.ts';

export interface GitSessionOptions {
  /** Parent of the per-operation HOME directory. */
  tempDirectory: string;
  /** PATH for git and ssh. */
  path: string;
  /**
   * A known_hosts file of the hosts trusted besides GitHub (PIER_GIT_KNOWN_HOSTS),
   * read for every operation. ssh trusts only the keys of GitHub and of this file.
   */
  knownHostsFile?: string;
}

/** GitHub's published SSH host keys, shipped with Pier: every ssh clone URL's host key is checked against these and the operator's. */
export const GITHUB_KNOWN_HOSTS = fileURLToPath(new URL('../known_hosts/github.com', import.meta.url));

/** The environment of one resolve or fetch: a fresh HOME, credentials, the strings to scrub from errors. */
export interface GitSession {
  env: Record<string, string>;
  /** Secrets (and encodings of them) that must never appear in an error. */
  secrets: string[];
  /** Removes the HOME directory, key file included. */
  dispose(): Promise<void>;
}

// Characters of paths that are put into GIT_SSH_COMMAND, which git runs through a shell.
const SHELL_SAFE_PATH = /^\/[A-Za-z0-9/._-]+$/;

/**
 * Prepares an isolated environment for git: nothing inherited from the host
 * (no system or global config, a new empty HOME, no terminal prompts), and
 * credentials passed only through the environment or a 0600 file, never argv.
 */
export async function openGitSession(repo: RepoAccess, remote: CloneUrl, options: GitSessionOptions): Promise<GitSession> {
  const home = await mkdtemp(join(options.tempDirectory, 'pier-git-'));
  const dispose = () => rm(home, { recursive: true, force: true });
  try {
    const env = baseEnvironment(home, options.path);
    const secrets = await addCredentials(env, repo, remote, home);
    if (remote.protocol === 'ssh') await writeKnownHosts(home, options.knownHostsFile);
    env.GIT_SSH_COMMAND = sshCommand(home, repo.credentials?.kind === 'deploy-key');
    return { env, secrets, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

function baseEnvironment(home: string, path: string): Record<string, string> {
  return {
    PATH: path,
    HOME: home,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_SSH_VARIANT: 'ssh',
  };
}

async function addCredentials(env: Record<string, string>, repo: RepoAccess, remote: CloneUrl, home: string): Promise<string[]> {
  const credentials = repo.credentials;
  if (credentials === undefined) return [];
  if (credentials.kind === 'token') return addTokenHeader(env, credentials.token, remote);
  if (remote.protocol !== 'ssh')
    throw new ValidationError('a deploy key needs an ssh clone URL (git@host:owner/repo.git)', 'credentials');
  await writeKey(home, credentials.privateKey);
  return [];
}

/** The token goes in an `Authorization` header scoped to the repository's origin, via GIT_CONFIG_* variables. */
function addTokenHeader(env: Record<string, string>, token: string, remote: CloneUrl): string[] {
  if (!/^[\x21-\x7e]{1,1024}$/.test(token))
    throw new ValidationError('the access token has characters a token cannot have', 'credentials');
  const url = remote.protocol === 'https' || remote.protocol === 'http' ? new URL(remote.url) : undefined;
  if (url === undefined || (url.protocol === 'http:' && !isLoopback(url.hostname)))
    throw new ValidationError('an access token needs an https clone URL', 'credentials');
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  env.GIT_CONFIG_COUNT = '1';
  env.GIT_CONFIG_KEY_0 = `http.${url.origin}/.extraHeader`;
  env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  return [token, basic];
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

async function writeKey(home: string, privateKey: string): Promise<void> {
  if (!privateKey.includes('PRIVATE KEY') || !/^[\x20-\x7e\r\n]+$/.test(privateKey))
    throw new ValidationError('the deploy key is not a PEM/OpenSSH private key', 'credentials');
  const text = privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`;
  await writeFile(join(home, 'deploy_key'), text, { mode: 0o600, flag: 'wx' });
}

/** The operation's known_hosts: GitHub's keys and the operator's file, nothing of the host's or of earlier operations. */
async function writeKnownHosts(home: string, extraFile: string | undefined): Promise<void> {
  const parts = [await readFile(GITHUB_KNOWN_HOSTS, 'utf8')];
  if (extraFile !== undefined) {
    try {
      parts.push(await readFile(extraFile, 'utf8'));
    } catch (err) {
      throw new Error(`the known_hosts file ${extraFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  await writeFile(join(home, 'known_hosts'), parts.join('\n'), { mode: 0o600, flag: 'wx' });
}

/**
 * GIT_SSH_COMMAND is run by a shell, so it holds only paths Pier made (checked
 * against a conservative character set) and fixed options: never user text.
 * A host whose key is not in the operation's known_hosts is refused, never
 * trusted on first use.
 */
function sshCommand(home: string, withKey: boolean): string {
  if (!SHELL_SAFE_PATH.test(home)) throw new Error(`unsafe path for GIT_SSH_COMMAND: ${JSON.stringify(home)}`);
  return [
    'ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=30',
    `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${join(home, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null`,
    ...(withKey ? [`-i ${join(home, 'deploy_key')}`] : []),
  ].join(' ');
}
