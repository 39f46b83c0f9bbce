import { CHECK_NAME_MAX, type CheckKind, type CheckReport } from '@pier/core';
import { z } from 'zod';
import { commitSha, githubTime, payloadProblem } from './payload-fields.ts';
import type { CheckDecision, IgnoredDecision } from './route-decision.ts';
import { ignored } from './route-decision.ts';

/** GitHub's names and words: non-empty after trimming; odd ones become absent rather than failing the delivery. */
const label = z
  .string()
  .transform((value) => value.trim())
  .nullish()
  .catch(undefined);

/** A conclusion or state word as GitHub writes it (`success`, `timed_out`); anything else counts as absent. */
const word = z
  .string()
  .regex(/^[a-z_]{1,40}$/)
  .nullish()
  .catch(undefined);

const action = z.looseObject({ action: z.string() });

const suitePayload = z.looseObject({
  check_suite: z.looseObject({
    id: z.number().int().positive(),
    head_sha: commitSha,
    conclusion: word,
    updated_at: githubTime,
    app: z.looseObject({ name: label, slug: label }).nullish().catch(undefined),
  }),
});

/** An id GitHub gives a check run's suite or app; a malformed one counts as absent. */
const owner = z.looseObject({ id: z.number().int().positive() }).nullish().catch(undefined);

const runPayload = z.looseObject({
  check_run: z.looseObject({
    name: z.string(),
    head_sha: commitSha,
    conclusion: word,
    started_at: githubTime,
    completed_at: githubTime,
    check_suite: owner,
    app: owner,
  }),
});

const statusPayload = z.looseObject({
  sha: commitSha,
  context: z.string(),
  state: z.enum(['pending', 'success', 'failure', 'error']),
  updated_at: githubTime,
});

const workflowPayload = z.looseObject({
  workflow_run: z.looseObject({
    id: z.number().int().positive(),
    name: label,
    path: label,
    head_sha: commitSha,
    conclusion: word,
    updated_at: githubTime,
  }),
});

/** What GitHub reports about a commit's checks: which check, its result, when. Never deploys by itself. */
export function routeCheck(event: CheckKind, payload: unknown): CheckDecision | IgnoredDecision {
  const parsedAction = event === 'status' ? { success: true as const, data: { action: '' } } : action.safeParse(payload);
  if (!parsedAction.success) return ignored(payloadProblem(event, parsedAction.error));
  switch (event) {
    case 'check_suite':
      return parsedAction.data.action === 'completed' ? checkSuite(payload) : ignored('check_suite action is not completed');
    case 'check_run':
      return ['created', 'completed'].includes(parsedAction.data.action)
        ? checkRun(payload, parsedAction.data.action === 'completed')
        : ignored('check_run action is not created or completed');
    case 'status':
      return commitStatus(payload);
    case 'workflow_run':
      return ['requested', 'in_progress', 'completed'].includes(parsedAction.data.action)
        ? workflowRun(payload, parsedAction.data.action === 'completed')
        : ignored('workflow_run action is not requested, in_progress or completed');
  }
}

/** A completed check suite: one per app (GitHub Actions makes one per workflow), told apart by id. */
function checkSuite(payload: unknown): CheckDecision | IgnoredDecision {
  const parsed = suitePayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('check_suite', parsed.error));
  const suite = parsed.data.check_suite;
  if (!suite.conclusion) return ignored('completed check_suite has no conclusion');
  const name = suite.app?.name || suite.app?.slug || `check suite ${suite.id}`;
  return check('check_suite', suite.head_sha, name, `suite-${suite.id}`, suite.conclusion, suite.updated_at);
}

/**
 * A check run created (pending until its completed event) or completed, kept
 * per suite and name: two workflows' jobs named `build` are two checks (each
 * workflow run is a suite of its own), while a re-run of a job, a new check
 * run of the same name in the same suite, replaces its earlier result (the
 * newest counts). Without a suite, per app and name; without either, by name.
 */
function checkRun(payload: unknown, completed: boolean): CheckDecision | IgnoredDecision {
  const parsed = runPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('check_run', parsed.error));
  const run = parsed.data.check_run;
  if (completed && !run.conclusion) return ignored('completed check_run has no conclusion');
  const conclusion = completed ? (run.conclusion as string) : 'pending';
  const at = completed ? (run.completed_at ?? run.started_at) : run.started_at;
  const scope = run.check_suite ? `suite-${run.check_suite.id}:` : run.app ? `app-${run.app.id}:` : '';
  return check('check_run', run.head_sha, run.name, `${scope}${cleanName(run.name)}`, conclusion, at);
}

/** A commit status (`context` is its name): `pending`, `success`, `failure` or `error`. */
function commitStatus(payload: unknown): CheckDecision | IgnoredDecision {
  const parsed = statusPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('status', parsed.error));
  const status = parsed.data;
  return check('status', status.sha, status.context, status.context, status.state, status.updated_at);
}

/** A GitHub Actions workflow run, by the workflow's name: requested and in progress are pending. */
function workflowRun(payload: unknown, completed: boolean): CheckDecision | IgnoredDecision {
  const parsed = workflowPayload.safeParse(payload);
  if (!parsed.success) return ignored(payloadProblem('workflow_run', parsed.error));
  const workflow = parsed.data.workflow_run;
  if (completed && !workflow.conclusion) return ignored('completed workflow_run has no conclusion');
  const name = workflow.name || workflow.path || `workflow run ${workflow.id}`;
  return check(
    'workflow_run',
    workflow.head_sha,
    name,
    name,
    completed ? (workflow.conclusion as string) : 'pending',
    workflow.updated_at,
  );
}

function check(
  kind: CheckKind,
  commit: string,
  rawName: string,
  rawKey: string,
  conclusion: string,
  at: Date | undefined,
): CheckDecision | IgnoredDecision {
  const name = cleanName(rawName);
  if (!name) return ignored(`${kind} has no name`);
  const key = cleanName(rawKey, CHECK_KEY_MAX) || name;
  const report: CheckReport = { kind, commit, name, key, conclusion, at: at ?? null };
  return { kind: 'check', report };
}

/** A key is a name with room for what scopes it (`suite-<id>:`), so that a capped name is never cut twice. */
const CHECK_KEY_MAX = CHECK_NAME_MAX + 40;

/** Control characters out, trimmed, capped: a name reaches reasons and the API's answers, never a shell. */
function cleanName(value: string, max = CHECK_NAME_MAX): string {
  const clean = value.replace(/\p{Cc}/gu, ' ').trim();
  return clean.length > max ? clean.slice(0, max) : clean;
}
