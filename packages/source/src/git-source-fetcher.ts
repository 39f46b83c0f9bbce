import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  BuildError,
  type FetchedSource,
  type FetchRequest,
  type GitRef,
  NotFoundError,
  type RepoAccess,
  type SourceFetcher,
  ValidationError,
} from '@pier/core';
import { inspectCheckout } from './checkout-guard.ts';
import { type CloneUrl, parseCloneUrl } from './clone-url.ts';
import { gitError } from './git-errors.ts';
import { assertRefName, assertSha, pickCommit, remoteRefs } from './git-ref.ts';
import { type GitSession, openGitSession } from './git-session.ts';
import { GitFailure, runGit } from './run-git.ts';
import { TreeSizeCounter } from './tree-size.ts';

export interface GitSourceFetcherOptions {
  /** Each git command is killed after this long. Default 5 minutes. */
  timeoutMs?: number;
  /** Accept `file://` clone URLs. Off by default: they let a user read any repository on the host. For tests and local mirrors. */
  allowFileUrls?: boolean;
  /** A known_hosts file of ssh hosts trusted besides GitHub (whose keys ship with Pier); any other host key is refused. */
  knownHostsFile?: string;
  /** Where per-operation HOME directories (and deploy key files) are made. Default: the OS temp directory. */
  tempDirectory?: string;
  /** PATH given to git and ssh. */
  path?: string;
  gitBinary?: string;
}

/** Runs one git command in a session: its stdout, or nothing when `onStdout` takes it. */
type Git = (args: string[], onStdout?: (chunk: string) => void) => Promise<string>;

/** One resolve or fetch, for running git and wording its errors. */
interface Operation {
  repo: RepoAccess;
  remote: CloneUrl;
  /** e.g. `fetching commit <sha>`, the start of every error message. */
  action: string;
  signal: AbortSignal | undefined;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SAFE_DIRECTORY = /^\/[A-Za-z0-9/._-]*$/;
/**
 * `.git/info/attributes`, which outranks the repository's own `.gitattributes`:
 * no end-of-line conversion, `$Id$` expansion, filter or re-encoding, so each
 * file is checked out as exactly the bytes of its blob and the tree's size is
 * the checkout's size.
 */
const VERBATIM_ATTRIBUTES = '* -text -eol -ident -filter -working-tree-encoding\n';

/** `git -c` settings on every command: only the allowed transports, no hooks, helpers or submodules. */
function hardening(allowFile: boolean): string[] {
  const settings = [
    'protocol.allow=never',
    'protocol.https.allow=always',
    'protocol.http.allow=always',
    'protocol.ssh.allow=always',
    'protocol.git.allow=always',
    `protocol.file.allow=${allowFile ? 'always' : 'never'}`,
    'protocol.ext.allow=never',
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'core.symlinks=true',
    'core.autocrlf=false',
    'credential.helper=',
    'submodule.recurse=false',
    'advice.detachedHead=false',
  ];
  return settings.flatMap((setting) => ['-c', setting]);
}

/**
 * SourceFetcher over the system `git`: argument arrays only (`--` before every
 * user value), an isolated environment per operation, credentials in the
 * environment or a 0600 file, and every git process killed on timeout or abort.
 */
export class GitSourceFetcher implements SourceFetcher {
  readonly #timeoutMs: number;
  readonly #allowFile: boolean;
  readonly #gitBinary: string;
  readonly #session: { tempDirectory: string; path: string; knownHostsFile?: string };

  constructor(options: GitSourceFetcherOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#allowFile = options.allowFileUrls ?? false;
    this.#gitBinary = options.gitBinary ?? 'git';
    this.#session = { tempDirectory: options.tempDirectory ?? tmpdir(), path: options.path ?? DEFAULT_PATH };
    if (options.knownHostsFile !== undefined) this.#session.knownHostsFile = options.knownHostsFile;
    for (const [field, value] of [
      ['tempDirectory', this.#session.tempDirectory],
      ['knownHostsFile', options.knownHostsFile],
    ])
      if (value !== undefined && !SAFE_DIRECTORY.test(value))
        throw new ValidationError(`${field}: must be an absolute path of letters, digits and / . _ -`, field);
  }

  /** Resolves a branch or tag with `git ls-remote`; a commit is only validated. */
  async resolve(repo: RepoAccess, ref: GitRef, signal?: AbortSignal): Promise<string> {
    if (ref.kind === 'commit') return assertSha(ref.sha);
    const name = assertRefName(ref);
    const remote = this.#remote(repo);
    const refs = remoteRefs(ref);
    const action = `resolving ${ref.kind} "${name}"`;
    const output = await this.#withSession({ repo, remote, action, signal }, (git) =>
      git(['ls-remote', '--', remote.url, ...refs]),
    );
    const sha = pickCommit(output, refs);
    if (sha === undefined) throw new NotFoundError(`${ref.kind} "${name}" not found in the repository`);
    return sha;
  }

  /**
   * Fetches exactly `sha` (depth 1) into the empty `directory`, checks it out,
   * removes `.git` and inspects the tree. On any failure the directory is left
   * empty again, so nothing refused (an escaping symlink) stays behind.
   */
  async fetch(request: FetchRequest, signal?: AbortSignal): Promise<FetchedSource> {
    const sha = assertSha(request.sha);
    const remote = this.#remote(request.repo);
    assertLimits(request);
    await prepareDirectory(request.directory);
    try {
      const bytes = await this.#checkout(request, remote, sha, signal);
      return { directory: request.directory, sha, bytes };
    } catch (err) {
      await emptyDirectory(request.directory);
      throw err;
    }
  }

  async #checkout(request: FetchRequest, remote: CloneUrl, sha: string, signal: AbortSignal | undefined): Promise<number> {
    const cwd = request.directory;
    const action = `fetching commit ${sha}`;
    await this.#withSession({ repo: request.repo, remote, action, signal, cwd }, async (git) => {
      await git(['init', '--quiet', '--template=']);
      await mkdir(join(cwd, '.git', 'info'), { recursive: true });
      await writeFile(join(cwd, '.git', 'info', 'attributes'), VERBATIM_ATTRIBUTES);
      await git(['fetch', '--quiet', '--depth', '1', '--no-tags', '--no-recurse-submodules', '--', remote.url, sha]);
      await assertTreeSize(git, sha, request.maxBytes);
      await git(['checkout', '--quiet', '--detach', sha]);
      const head = (await git(['rev-parse', '--verify', 'HEAD'])).trim();
      if (head !== sha) throw new BuildError(`${action} failed: checked out ${head} instead`);
    });
    await rm(join(cwd, '.git'), { recursive: true, force: true });
    if (signal?.aborted) throw new BuildError(`${action} was cancelled`);
    return inspectCheckout(cwd, request.maxBytes);
  }

  #remote(repo: RepoAccess): CloneUrl {
    return parseCloneUrl(repo.cloneUrl, { allowFile: this.#allowFile });
  }

  /** Runs `work` with a git runner bound to one isolated session; maps git failures to domain errors. */
  async #withSession<T>(operation: Operation, work: (git: Git) => Promise<T>): Promise<T> {
    const { action, signal } = operation;
    if (signal?.aborted) throw new BuildError(`${action} was cancelled`);
    const session = await openGitSession(operation.repo, operation.remote, this.#session);
    try {
      return await work((args, onStdout) => this.#git(session, args, { signal, cwd: operation.cwd, onStdout }));
    } catch (err) {
      if (err instanceof GitFailure) throw gitError(err, { action, secrets: session.secrets, timeoutMs: this.#timeoutMs });
      throw err;
    } finally {
      await session.dispose();
    }
  }

  async #git(
    session: GitSession,
    args: string[],
    run: { signal: AbortSignal | undefined; cwd: string | undefined; onStdout: ((chunk: string) => void) | undefined },
  ): Promise<string> {
    const command = { args: [...hardening(this.#allowFile), ...args], env: session.env, gitBinary: this.#gitBinary };
    const output = await runGit({ ...command, ...run, timeoutMs: this.#timeoutMs });
    return output.stdout;
  }
}

/**
 * Refuses a commit whose files add up to more than `maxBytes` before any is
 * written: the sizes come from the fetched objects' headers (`git ls-tree -l`),
 * never from the pack, which compresses a huge file of zeros to almost nothing.
 * git is stopped as soon as the sum is over.
 */
async function assertTreeSize(git: Git, sha: string, maxBytes: number): Promise<void> {
  const tree = new TreeSizeCounter();
  await git(['ls-tree', '-r', '-l', '-z', sha], (chunk) => {
    tree.push(chunk);
    if (tree.bytes > maxBytes) throw checkoutTooLarge(maxBytes, `its files hold at least ${tree.bytes} bytes`);
    if (tree.diskBytes > maxBytes) {
      throw checkoutTooLarge(maxBytes, `its ${tree.files} files take at least ${tree.diskBytes} bytes of disk in 4 KiB blocks`);
    }
  });
}

function checkoutTooLarge(maxBytes: number, detail: string): ValidationError {
  return new ValidationError(`the checkout is larger than the limit of ${maxBytes} bytes (${detail})`, 'repository');
}

function assertLimits(request: FetchRequest): void {
  if (!Number.isSafeInteger(request.maxBytes) || request.maxBytes <= 0)
    throw new ValidationError('maxBytes: must be a positive integer', 'maxBytes');
  if (!isAbsolute(request.directory)) throw new ValidationError('directory: must be an absolute path', 'directory');
}

/** Removes everything inside `directory` (which was empty before the fetch). */
async function emptyDirectory(directory: string): Promise<void> {
  for (const entry of await readdir(directory)) await rm(join(directory, entry), { recursive: true, force: true });
}

/** Creates `directory` if needed; refuses one that is not empty. */
async function prepareDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  if ((await readdir(directory)).length > 0) throw new ValidationError('directory: must be empty', 'directory');
}
