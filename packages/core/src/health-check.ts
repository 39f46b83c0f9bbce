/**
 * What a health check asks of a replica and how its answers are judged: the
 * same for the worker's gate of a new replica and the edge proxy's polling of
 * serving ones. The I/O (one HTTP GET, one TCP connect) lives with them; the
 * verdicts live here, so both judge alike.
 *
 * A release's check is one of:
 * - a path (`/…`): GET it; 2xx and 3xx pass (redirects are never followed);
 * - `tcp`: the port accepts a connection and keeps it open;
 * - null, automatic: GET `/health`, which decides when it answers 2xx (pass)
 *   or 5xx (fail); else GET `/`, which passes with any status below 500.
 *   An app without `/health` is alive when it answers at all.
 */

/** The check that only opens a connection. */
export const TCP_HEALTH_CHECK = 'tcp';

/** The path the automatic check tries first. */
export const AUTOMATIC_HEALTH_PATH = '/health';

/** A path (`/…`), `tcp`, or null: automatic. */
export type HealthCheckPath = string | null;

/** Why `value` cannot be a health check setting (a path or `tcp`); undefined when it can. */
export function healthCheckPathProblem(value: string): string | undefined {
  if (value === TCP_HEALTH_CHECK) return undefined;
  if (/^\/[\x21-\x7e]{0,511}$/.test(value)) return undefined;
  return 'must be a path starting with / (printable ASCII, no spaces, at most 512 characters) or "tcp"';
}

/** What one request or connection attempt saw. */
export type ProbeAnswer =
  /** An HTTP status line came back. */
  | { kind: 'status'; status: number; text?: string }
  /** A TCP connection opened and stayed open. */
  | { kind: 'open' }
  /** Refused, or closed before any answer: nothing listens on the port (Docker's proxy accepts, then closes). */
  | { kind: 'refused'; detail: string }
  /** Anything else: a timeout, a reply that is not HTTP. */
  | { kind: 'failed'; detail: string };

/** The next thing a check does, given what it saw so far in this round. */
export type HealthStep = { kind: 'get'; path: string } | { kind: 'connect' } | { kind: 'verdict'; ok: boolean };

/** One round of a check: the first step with no answers, then each answer in turn. */
export function nextHealthStep(check: HealthCheckPath, answers: readonly ProbeAnswer[]): HealthStep {
  if (check === TCP_HEALTH_CHECK) {
    const [answer] = answers;
    return answer ? { kind: 'verdict', ok: answer.kind === 'open' } : { kind: 'connect' };
  }
  if (check !== null) {
    const [answer] = answers;
    if (!answer) return { kind: 'get', path: check };
    return { kind: 'verdict', ok: answer.kind === 'status' && answer.status >= 200 && answer.status < 400 };
  }
  const [health, root] = answers;
  if (!health) return { kind: 'get', path: AUTOMATIC_HEALTH_PATH };
  if (health.kind !== 'status') return { kind: 'verdict', ok: false };
  if (health.status >= 200 && health.status < 300) return { kind: 'verdict', ok: true };
  if (health.status >= 500) return { kind: 'verdict', ok: false };
  if (!root) return { kind: 'get', path: '/' };
  return { kind: 'verdict', ok: root.kind === 'status' && root.status < 500 };
}

/** The check in words, for logs and failure reasons: `GET /up`, `a TCP connection`, or the automatic sequence. */
export function describeHealthCheck(check: HealthCheckPath): string {
  if (check === TCP_HEALTH_CHECK) return 'a TCP connection';
  if (check !== null) return `GET ${check}`;
  return `automatic: GET ${AUTOMATIC_HEALTH_PATH} when it answers 2xx, else GET / below 500`;
}

/** A round's answers in a few words: `503 Service Unavailable`, `/health 404, / 200 OK`, `ECONNREFUSED`. */
export function describeAnswers(check: HealthCheckPath, answers: readonly ProbeAnswer[]): string {
  const words = answers.map((answer) => {
    if (answer.kind === 'status') return `${answer.status} ${answer.text ?? ''}`.trim();
    if (answer.kind === 'open') return 'open';
    return answer.detail;
  });
  if (check !== null || answers.length < 2) return words.join(', ');
  return words.map((word, i) => `${i === 0 ? AUTOMATIC_HEALTH_PATH : '/'} ${word}`).join(', ');
}

/** Whether a round saw nothing listening: every answer was a refusal. */
export function nothingListened(answers: readonly ProbeAnswer[]): boolean {
  return answers.length > 0 && answers.every((answer) => answer.kind === 'refused');
}

/** Error codes of a connection refused or closed before any answer. */
const REFUSAL_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/** A failed request or connection as an answer: a refusal (nothing listens) or another failure. */
export function answerFromError(error: { code?: string; message?: string }): ProbeAnswer {
  const detail = error.code ?? error.message ?? 'error';
  return error.code && REFUSAL_CODES.has(error.code) ? { kind: 'refused', detail } : { kind: 'failed', detail };
}
