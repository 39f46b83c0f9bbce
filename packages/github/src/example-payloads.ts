import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';

/**
 * Test support, not exported: real github.com payloads from the `@octokit/webhooks-examples` devDependency.
 * The package ships one file, an array of `{ name, actions, examples[] }` per event; the examples used here are
 * named below by event and index so that other tests can pick the same ones.
 */
export const EXAMPLES_FILE = createRequire(import.meta.url).resolve('@octokit/webhooks-examples/api.github.com/index.json');

type EventName = WebhookDefinition['name'];
type Payload<E extends EventName> = WebhookDefinition<E>['examples'][number];

export const EXAMPLES = {
  /** `refs/heads/master`, created, head_commit "Initial commit" 6113728f… */
  pushBranch: ['push', 4],
  /** `refs/tags/simple-tag`, created, after 6113728f… */
  pushTag: ['push', 0],
  /** `refs/tags/simple-tag`, deleted: true, after 000… */
  pushTagDeleted: ['push', 1],
  /** A repository hook's ping (Octocoders/Hello-World). */
  pingRepository: ['ping', 0],
  /** An organisation hook's ping: no `repository`. */
  pingOrganization: ['ping', 3],
  /** action published, tag_name 0.0.1. */
  releasePublished: ['release', 0],
  /** action created, tag_name 0.0.1. */
  releaseCreated: ['release', 1],
  /** action closed, merged: false, base master (the package has no merged example: tests set merged). */
  pullRequestClosed: ['pull_request', 3],
  /** #2 from Codertocat/Hello-World's own branch `changes`, head ec26c3e5…: not a fork. */
  pullRequestOpened: ['pull_request', 0],
  pullRequestSynchronize: ['pull_request', 22],
  pullRequestReopened: ['pull_request', 18],
  pullRequestReadyForReview: ['pull_request', 15],
  pullRequestLabeled: ['pull_request', 8],
  issuesOpened: ['issues', 15],
  /** completed, success, app octocoders-linter, suite 118578147, head ec26c3e5… */
  checkSuiteCompleted: ['check_suite', 0],
  /** requested (sent to GitHub Apps only), no conclusion. */
  checkSuiteRequested: ['check_suite', 4],
  /** created (queued), "Octocoders-linter", head ec26c3e5… */
  checkRunCreated: ['check_run', 0],
  /** completed, failure, "Octocoders-linter". */
  checkRunFailed: ['check_run', 1],
  /** completed, success, "Octocoders-linter". */
  checkRunSucceeded: ['check_run', 2],
  /** rerequested, neutral. */
  checkRunRerequested: ['check_run', 7],
  /** success, context "default", sha 6113728f… */
  statusSuccess: ['status', 0],
  /** completed, success, a workflow whose name is empty (path .github/workflows/test.yml), head 3484a3fb… */
  workflowRunCompleted: ['workflow_run', 1],
  /** requested, status queued. */
  workflowRunRequested: ['workflow_run', 3],
} as const satisfies Record<string, readonly [EventName, number]>;

type ExampleName = keyof typeof EXAMPLES;
type EventOf<N extends ExampleName> = (typeof EXAMPLES)[N][0];

let definitions: WebhookDefinition[] | undefined;

/** Every event's definition and examples, parsed once per test file. */
export function loadDefinitions(): WebhookDefinition[] {
  definitions ??= JSON.parse(readFileSync(EXAMPLES_FILE, 'utf8')) as WebhookDefinition[];
  return definitions;
}

/** A fresh deep copy of a named example, free to modify. */
export function examplePayload<N extends ExampleName>(name: N): Payload<EventOf<N>> {
  const [event, index] = EXAMPLES[name];
  const example = loadDefinitions().find((definition) => definition.name === event)?.examples[index];
  if (example === undefined) throw new Error(`${EXAMPLES_FILE} has no ${event} example #${index}`);
  return structuredClone(example) as Payload<EventOf<N>>;
}

/** The raw bytes GitHub would send for a payload. */
export function exampleBody(payload: unknown): Buffer {
  return Buffer.from(JSON.stringify(payload));
}
