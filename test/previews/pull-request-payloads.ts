import { examplePayload } from '../support/webhooks.ts';

export type PullRequestAction = 'opened' | 'reopened' | 'synchronize' | 'closed';

export interface PullRequestOptions {
  /** `owner/name` of the base repository (the app's). */
  repository: string;
  number: number;
  action: PullRequestAction;
  /** Head commit. */
  sha: string;
  headRef?: string;
  /** The head lives in another repository (a fork). */
  fork?: boolean;
  merged?: boolean;
  mergeSha?: string;
  baseRef?: string;
  /** `pull_request.updated_at`; default: now, one second later than the previous payload's (GitHub's times are to the second). */
  updatedAt?: Date;
}

let lastUpdatedAt = 0;

/** Now to the second, strictly after every earlier default. */
function nextUpdatedAt(): Date {
  lastUpdatedAt = Math.max(Math.floor(Date.now() / 1000) * 1000, lastUpdatedAt + 1000);
  return new Date(lastUpdatedAt);
}

/** GitHub's form: `2019-05-15T15:20:33Z`. */
const githubTime = (time: Date) => `${time.toISOString().slice(0, 19)}Z`;

/** The base repository's id in the examples (Codertocat/Hello-World); a fork gets another. */
const BASE_REPOSITORY_ID = 186853002;

/** A real GitHub pull_request payload (from @octokit/webhooks-examples) re-pointed at a repository, number and head. */
export function pullRequestPayload(options: PullRequestOptions): Record<string, any> {
  const payload = examplePayload(options.action === 'closed' ? 'pullRequestClosed' : 'pullRequestOpened') as Record<string, any>;
  const [owner, name] = options.repository.split('/');
  const repository = {
    ...payload.repository,
    id: BASE_REPOSITORY_ID,
    full_name: options.repository,
    name,
    owner: { login: owner },
  };
  const pull = payload.pull_request;
  payload.action = options.action;
  payload.number = options.number;
  payload.repository = repository;
  pull.number = options.number;
  pull.head = {
    ...pull.head,
    sha: options.sha,
    ref: options.headRef ?? 'feature/preview',
    repo: options.fork ? { ...repository, id: BASE_REPOSITORY_ID + 1, full_name: `mallory/${name}`, fork: true } : repository,
  };
  pull.base = { ...pull.base, ref: options.baseRef ?? 'main', repo: repository };
  pull.merged = options.merged ?? false;
  if (options.mergeSha) pull.merge_commit_sha = options.mergeSha;
  pull.state = options.action === 'closed' ? 'closed' : 'open';
  pull.updated_at = githubTime(options.updatedAt ?? nextUpdatedAt());
  pull.closed_at = options.action === 'closed' ? pull.updated_at : null;
  return payload;
}
