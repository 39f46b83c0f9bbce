/**
 * Domain errors. Code anywhere in Pier throws these; the API maps them to HTTP
 * once (apps/api/src/error-handler.ts) as `{ error: { code, message } }`.
 */
export abstract class PierError extends Error {
  /** Stable, machine-readable code, e.g. `not_found`. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that is well-formed but breaks a rule; names the offending field. */
export class ValidationError extends PierError {
  readonly code = 'validation_failed';

  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends PierError {
  readonly code = 'not_found';
}

/** The request clashes with current state: a duplicate name, a protected object. */
export class ConflictError extends PierError {
  readonly code = 'conflict';
}

export class UnauthorizedError extends PierError {
  readonly code = 'unauthorized';
}

/** The caller is known but may not do this. */
export class ForbiddenError extends PierError {
  readonly code = 'forbidden';
}

/** A request body larger than the caller may send here. */
export class PayloadTooLargeError extends PierError {
  readonly code = 'payload_too_large';
}

/** Too many requests from one source; try again after `retryAfterSeconds`. */
export class RateLimitedError extends PierError {
  readonly code = 'rate_limited';

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A secret could not be decrypted: wrong key, unknown key id or tampered data. */
export class SecretDecryptionError extends PierError {
  readonly code = 'secret_unreadable';
}

/** A build or source fetch that failed; `lastLines` are the end of its output, for the deployment's reason. */
export class BuildError extends PierError {
  readonly code = 'build_failed';

  constructor(
    message: string,
    readonly lastLines: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The CA could not validate control of a hostname (HTTP-01 failed); the order is dead. */
export class AuthorizationFailedError extends PierError {
  readonly code = 'authorization_failed';

  constructor(
    readonly hostname: string,
    detail: string,
  ) {
    super(`authorization of ${hostname} failed: ${detail}`);
  }
}
