/**
 * Exit codes a script or CI job can tell apart. Every failure is one line on
 * stderr naming the field or the cause (with the API's error code), then one
 * of these.
 */
export const EXIT = {
  ok: 0,
  /** Anything else: the server refused for another reason, could not be reached, answered 5xx. */
  failure: 1,
  /** The command line or the input is wrong (unknown option, missing argument, a field the API refused). */
  usage: 2,
  /** No token, a token the server does not know, or one that may not do this. */
  auth: 3,
  /** The app, environment, release, service or other object does not exist. */
  notFound: 4,
  /** A deployment (or a run, or a promotion) ended failed or cancelled. */
  deployFailed: 5,
  /** Ctrl-C: the CLI stopped waiting; what it started on the server keeps going. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one line and an exit code; never carries a token. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** The API's error code (`validation_failed`, `not_found`…), when the server refused. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage, 'usage');
}

/** The exit code for an API answer's status. */
export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 400 || status === 422 || status === 413 || status === 415) return EXIT.usage;
  return EXIT.failure;
}
