import { examplePayload } from '../support/webhooks.ts';

/** Real GitHub check payloads (from @octokit/webhooks-examples) pointed at a repository and commit. */

function forRepository(payload: Record<string, any>, fullName: string): Record<string, any> {
  payload.repository = { ...payload.repository, full_name: fullName, name: fullName.split('/')[1] };
  return payload;
}

/** `check_suite` completed: one app's suite of the commit, `conclusion` at `at`. */
export function checkSuitePayload(
  fullName: string,
  sha: string,
  conclusion: string,
  options: { app?: string; id?: number; at?: string } = {},
): Record<string, any> {
  const payload = examplePayload('checkSuiteCompleted') as Record<string, any>;
  payload.check_suite.head_sha = sha;
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.updated_at = options.at ?? new Date().toISOString();
  payload.check_suite.app = { ...payload.check_suite.app, name: options.app ?? 'GitHub Actions' };
  if (options.id !== undefined) payload.check_suite.id = options.id;
  return forRepository(payload, fullName);
}

/** `check_run` created (conclusion null: pending) or completed, in the example's suite unless `suite` names another. */
export function checkRunPayload(
  fullName: string,
  sha: string,
  name: string,
  conclusion: string | null,
  at = new Date().toISOString(),
  suite?: number,
): Record<string, any> {
  const payload = examplePayload(conclusion === null ? 'checkRunCreated' : 'checkRunSucceeded') as Record<string, any>;
  if (suite !== undefined) payload.check_run.check_suite.id = suite;
  payload.check_run.head_sha = sha;
  payload.check_run.name = name;
  payload.check_run.conclusion = conclusion;
  payload.check_run.started_at = at;
  if (conclusion !== null) payload.check_run.completed_at = at;
  return forRepository(payload, fullName);
}
