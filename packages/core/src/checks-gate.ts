/**
 * The CI gate: a push to an environment whose gate is on waits for GitHub's
 * checks of its commit before it builds. GitHub reports them in four webhook
 * events (`check_suite`, `check_run`, `status`, `workflow_run`); the api
 * keeps the newest report of each check per commit and decides here.
 */

/** The webhook event a check was reported by. */
export const CHECK_KINDS = ['check_suite', 'check_run', 'status', 'workflow_run'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** One check of a commit as last reported. */
export interface CheckResult {
  kind: CheckKind;
  /** The check run's name, the status context, the workflow's name or the check suite's app: what `requiredChecks` names. */
  name: string;
  /** `pending` while it runs, else GitHub's word: `success`, `failure`, `neutral`, `timed_out`, `error`, … */
  conclusion: string;
}

/** A check result as a webhook delivered it. */
export interface CheckReport extends CheckResult {
  /** Lower-case hex commit id the check ran on. */
  commit: string;
  /**
   * Tells this check apart from the commit's others of its kind, so that its
   * newer report replaces only its own: a check suite's id (one app may run
   * several), a check run's suite and name (two workflows may each have a job
   * `build`; a re-run in the same suite replaces the earlier run), else the name.
   */
  key: string;
  /** When GitHub says it happened: a report older than the one kept is a replay or late, and changes nothing. Null: now. */
  at: Date | null;
}

export type CheckOutcome = 'pending' | 'passed' | 'failed';

/** Conclusions that let a commit through: GitHub's own "passing" ones (a skipped or neutral check blocks nothing). */
const PASSING = new Set(['success', 'neutral', 'skipped']);

/** Anything that is not pending and not passing fails: `failure`, `error`, `cancelled`, `timed_out`, `action_required`, `stale`, … */
export function checkOutcome(conclusion: string): CheckOutcome {
  if (conclusion === 'pending') return 'pending';
  return PASSING.has(conclusion) ? 'passed' : 'failed';
}

export type ChecksVerdict =
  | { kind: 'passed' }
  | { kind: 'failed'; check: CheckResult }
  /** `waitingFor`: the names still pending or not reported (empty: no check has reported yet). */
  | { kind: 'waiting'; waitingFor: string[] };

/**
 * What a commit's checks say, given the environment's `requiredChecks`.
 * Null (every check): it fails as soon as one reported check fails, and
 * passes once at least one has reported and none is pending. A list: only
 * those names count, and each must have reported and passed (a name
 * reported several times, say by a check run and a status, or by two
 * workflows' jobs of that name, passes only when all of them did).
 */
export function checksVerdict(results: readonly CheckResult[], required: readonly string[] | null): ChecksVerdict {
  const counted = required === null ? [...results] : results.filter((r) => required.includes(r.name));
  counted.sort((a, b) => a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));
  const failed = counted.find((r) => checkOutcome(r.conclusion) === 'failed');
  if (failed) return { kind: 'failed', check: failed };
  const pending = counted.filter((r) => checkOutcome(r.conclusion) === 'pending').map((r) => r.name);
  const missing = required === null ? [] : required.filter((name) => !counted.some((r) => r.name === name));
  const waitingFor = [...new Set([...pending, ...missing])];
  if (waitingFor.length > 0 || counted.length === 0) return { kind: 'waiting', waitingFor };
  return { kind: 'passed' };
}

const KIND_WORDS: Record<CheckKind, string> = {
  check_suite: 'check suite',
  check_run: 'check run',
  status: 'commit status',
  workflow_run: 'workflow',
};

/** The reason a deployment is skipped when a check failed: names the check, its kind and GitHub's conclusion. */
export function checkFailedReason(check: CheckResult): string {
  return `${KIND_WORDS[check.kind]} "${check.name}" did not pass (${check.conclusion}): not built`;
}

/** The reason a deployment is skipped when its checks ran out of time. */
export function checksTimeoutReason(timeoutMs: number): string {
  const minutes = Math.max(1, Math.round(timeoutMs / 60_000));
  return `GitHub's checks of the commit did not finish within ${minutes} min (checksTimeoutMs): not built`;
}

/** Bounds of `checksTimeoutMs`: a minute to a day. */
export const CHECKS_TIMEOUT_MIN_MS = 60_000;
export const CHECKS_TIMEOUT_MAX_MS = 86_400_000;

/** At most this many `requiredChecks`, each at most `CHECK_NAME_MAX` characters. */
export const REQUIRED_CHECKS_MAX = 50;
export const CHECK_NAME_MAX = 200;

/**
 * Whether GitHub's pushes to an environment wait for checks. Its own
 * `waitForChecks` when set; unset, on for `staging` when the app has a
 * repository whose webhook reports checks (it has delivered a check event):
 * a webhook that sends only pushes would leave every push waiting until its
 * timeout.
 */
export function waitsForChecks(
  environment: { name: string; waitForChecks: boolean | null },
  app: { hasRepository: boolean; reportsChecks: boolean },
): boolean {
  if (environment.waitForChecks !== null) return environment.waitForChecks;
  return environment.name === 'staging' && app.hasRepository && app.reportsChecks;
}
