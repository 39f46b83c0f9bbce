import { BuildError, NotFoundError } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { gitError, scrubbedLines } from './git-errors.ts';
import { GitFailure } from './run-git.ts';

const context = { action: 'fetching commit abc', secrets: ['TOKEN123', 'QkFTRTY0'], timeoutMs: 120_000 };

describe('gitError', () => {
  it.each([
    ['exit', "fatal: repository 'https://github.com/a/b.git/' not found", NotFoundError, /repository not found/],
    ['exit', 'fatal: remote error: upload-pack: not our ref ffff', NotFoundError, /commit is not in the repository/],
    ['exit', 'fatal: Authentication failed for https://github.com/a/b.git', BuildError, /access denied/],
    ['exit', 'warning: x\nfatal: unable to access: Could not resolve host\nmore', BuildError, /failed: fatal: unable to access/],
    ['timeout', '', BuildError, /timed out after 120 s/],
    ['aborted', '', BuildError, /was cancelled/],
    ['spawn', 'spawn git ENOENT', BuildError, /git could not be started/],
    [
      'exit',
      'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.\nfatal: Could not read from remote repository.',
      BuildError,
      /the SSH host key of \[127\.0\.0\.1\]:2222 is not a trusted one .*PIER_GIT_KNOWN_HOSTS/,
    ],
    [
      'exit',
      '@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key for github.com has changed and you have requested strict checking.\nHost key verification failed.',
      BuildError,
      /the SSH host key of github\.com is not a trusted one .*or it changed/,
    ],
    [
      'exit',
      'Host key verification failed.\nfatal: Could not read from remote repository.',
      BuildError,
      /host key of the server/,
    ],
  ] as const)('%s: %j', (reason, stderr, type, message) => {
    const error = gitError(new GitFailure(reason, stderr), context);
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
  });

  it('scrubs secrets and URL passwords', () => {
    const lines = scrubbedLines(
      "remote: token TOKEN123\nAuthorization: Basic QkFTRTY0\nfatal: unable to access 'https://user:hunter2@host/x'\n",
      context.secrets,
    );
    expect(lines).toEqual(['remote: token ***', 'Authorization: Basic ***', "fatal: unable to access 'https://user:***@host/x'"]);
  });

  it('keeps the last 20 lines without control characters', () => {
    const lines = scrubbedLines(`${Array.from({ length: 30 }, (_, i) => `line ${i}\u001b[K`).join('\r\n')}\r\n`, []);
    expect(lines).toHaveLength(20);
    expect(lines.at(-1)).toBe('line 29[K');
  });
});
