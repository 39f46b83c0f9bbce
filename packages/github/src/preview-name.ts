/** Names of this form belong to pull request previews; users cannot give them to an environment by hand. */
export const PREVIEW_NAME_PATTERN = /^pr-[0-9]+$/;

/** The largest pull request number a preview can have (the column is a 32-bit integer). */
export const MAX_PULL_REQUEST = 2_147_483_647;

/** The environment that previews pull request `pullRequest`: `pr-<number>`, a valid environment name. */
export function previewEnvironmentName(pullRequest: number): string {
  return `pr-${pullRequest}`;
}

export function isPreviewName(name: string): boolean {
  return PREVIEW_NAME_PATTERN.test(name);
}
