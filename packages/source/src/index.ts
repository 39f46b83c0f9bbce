export { inspectCheckout } from './checkout-guard.ts';
export { type CloneProtocol, type CloneUrl, type CloneUrlRules, cloneUrlProblem, parseCloneUrl } from './clone-url.ts';
export { GitSourceFetcher, type GitSourceFetcherOptions } from './git-source-fetcher.ts';
