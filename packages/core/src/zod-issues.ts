import type { z } from 'zod';

/**
 * Turns zod issues into one sentence that names every offending field,
 * e.g. `body.name: must start with a lower-case letter…; body.replicas: must be at most 20`.
 */
export function describeIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => describeIssue(where, issue)).join('; ');
}

function describeIssue(where: string, issue: z.core.$ZodIssue): string {
  const field = [where, ...issue.path.map(String)].filter(Boolean).join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${field}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_key':
      return `${field}: invalid key: ${issue.issues.map((i) => i.message).join(', ')}`;
    case 'invalid_type':
      return `${field}: ${issue.input === undefined ? 'is required' : issue.message}`;
    default:
      return `${field}: ${issue.message}`;
  }
}
