/** How to reach a repository. The URL always comes from the app's configuration, never a webhook payload. */
export interface RepoAccess {
  cloneUrl: string;
  /** For private repositories; never logged, never put on a command line. */
  credentials?: { kind: 'token'; token: string } | { kind: 'deploy-key'; privateKey: string };
}

/** What to build: a branch or tag (resolved to a commit first) or an exact commit. */
export type GitRef = { kind: 'branch'; name: string } | { kind: 'tag'; name: string } | { kind: 'commit'; sha: string };

export interface FetchRequest {
  repo: RepoAccess;
  /** Full 40-hex commit SHA. */
  sha: string;
  /** An empty directory to check the commit out into. */
  directory: string;
  /** Largest checkout accepted, in bytes; bigger ones fail with a ValidationError. */
  maxBytes: number;
}

export interface FetchedSource {
  directory: string;
  sha: string;
  /** Bytes of regular files in the checkout. */
  bytes: number;
}

/**
 * Port: gets source code. Contract:
 * - `resolve` turns a branch or tag into the commit it points at, or throws NotFoundError.
 * - `fetch` checks out exactly `sha` (shallow) into `directory`; refuses
 *   symlinks that point outside the checkout and checkouts over `maxBytes`
 *   (ValidationError), and honours `signal` by stopping its child processes.
 * - Ref names and URLs are validated before use; nothing reaches a shell.
 */
export interface SourceFetcher {
  resolve(repo: RepoAccess, ref: GitRef, signal?: AbortSignal): Promise<string>;
  fetch(request: FetchRequest, signal?: AbortSignal): Promise<FetchedSource>;
}
