import { BuildError, NotFoundError, type PierError } from '@pier/core';
import type { GitFailure } from './run-git.ts';

const LAST_LINES = 20;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;
const NOT_FOUND = /repository .*not found|does not appear to be a git repository|no such repository|HTTP 404/i;
const NO_SUCH_COMMIT = /not our ref|couldn't find remote ref|no such remote ref|unadvertised object|reference is not a tree/i;
const DENIED =
  /authentication failed|could not read (username|password)|permission denied|HTTP 40[13]|terminal prompts disabled/i;
/** ssh's words for a host key it does not know (`No ED25519 host key is known for h`) or that changed (`Host key for h has changed`). */
const HOST_KEY = /host key is known for (\S+)|Host key for (\S+) has changed|Host key verification failed/i;

/** What was being done, for messages: e.g. `resolving branch "main"`. */
export interface GitErrorContext {
  action: string;
  /** Strings to remove from git's output before it goes anywhere. */
  secrets: readonly string[];
  timeoutMs: number;
}

/**
 * Turns a failed git run into a domain error: NotFoundError for a missing
 * repository or commit, BuildError otherwise. git's output is scrubbed of
 * secrets and URL passwords first, and only its last lines are kept.
 */
export function gitError(failure: GitFailure, context: GitErrorContext): PierError {
  const lines = scrubbedLines(failure.stderr, context.secrets);
  switch (failure.reason) {
    case 'aborted':
      return new BuildError(`${context.action} was cancelled`, lines);
    case 'timeout':
      return new BuildError(`${context.action} timed out after ${Math.round(context.timeoutMs / 1000)} s`, lines);
    case 'spawn':
      return new BuildError(`${context.action} failed: git could not be started (${lines.at(-1) ?? 'unknown error'})`, lines);
    case 'exit':
      return exitError(lines, context.action);
  }
}

function exitError(lines: string[], action: string): PierError {
  const text = lines.join('\n');
  const hostKey = HOST_KEY.exec(text);
  if (hostKey) {
    const host = hostKey[1] ?? hostKey[2] ?? 'the server';
    return new BuildError(
      `${action} failed: the SSH host key of ${host} is not a trusted one (GitHub's, or one in the worker's PIER_GIT_KNOWN_HOSTS file), or it changed; nothing was sent to it`,
      lines,
    );
  }
  if (NO_SUCH_COMMIT.test(text)) return new NotFoundError(`${action} failed: the commit is not in the repository`);
  if (NOT_FOUND.test(text))
    return new NotFoundError(`${action} failed: repository not found or not accessible with the given credentials`);
  if (DENIED.test(text))
    return new BuildError(`${action} failed: access denied; check the app's access token or deploy key`, lines);
  const last = lines.filter((line) => /^(fatal|error):/.test(line)).at(-1) ?? lines.at(-1) ?? 'git failed';
  return new BuildError(`${action} failed: ${last}`, lines);
}

/** The last lines of git's output with every secret and URL password replaced by `***`. */
export function scrubbedLines(output: string, secrets: readonly string[]): string[] {
  let text = output.replace(/(\/\/[^/\s:@]*:)[^@\s/]*@/g, '$1***@');
  for (const secret of secrets) if (secret.length > 0) text = text.split(secret).join('***');
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.replace(CONTROL_CHARACTERS, '').trimEnd())
    .filter((line) => line !== '')
    .slice(-LAST_LINES);
}
