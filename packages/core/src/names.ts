import { ValidationError } from './errors.ts';

/**
 * Identifiers that end up in URLs, hostnames, Docker labels and container names.
 * Lower-case letter first, then lower-case letters, digits and dashes; at most 63
 * characters, so `<name>` is always a valid DNS label.
 */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** Environment variable keys as POSIX shells accept them. */
export const ENV_KEY_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

export const ENV_KEY_MAX_LENGTH = 255;

export function isName(value: string): boolean {
  return NAME_PATTERN.test(value) && !value.endsWith('-') && !value.includes('--');
}

export function nameProblem(value: string): string | undefined {
  if (isName(value)) return undefined;
  return 'must start with a lower-case letter, contain only a-z, 0-9 and single dashes, not end with a dash, and be at most 63 characters';
}

export function assertName(field: string, value: string): string {
  const problem = nameProblem(value);
  if (problem) throw new ValidationError(`${field}: ${problem}`, field);
  return value;
}

export function envKeyProblem(key: string): string | undefined {
  if (key.length > ENV_KEY_MAX_LENGTH) return `is longer than ${ENV_KEY_MAX_LENGTH} characters`;
  if (!ENV_KEY_PATTERN.test(key)) return 'must match ^[A-Z_][A-Z0-9_]*$';
  return undefined;
}

/**
 * A git branch name as Pier accepts it: `git check-ref-format` rules, plus no
 * leading dash (never an option to git) and a conservative character set.
 */
export function branchProblem(branch: string): string | undefined {
  if (branch.length === 0 || branch.length > 255) return 'must be 1 to 255 characters';
  if (!/^[A-Za-z0-9._/+-]+$/.test(branch)) return 'may contain only letters, digits and . _ / + -';
  if (branch.startsWith('-')) return 'must not start with a dash';
  if (branch.startsWith('/') || branch.endsWith('/') || branch.includes('//')) return 'must not have empty path segments';
  if (branch.includes('..')) return 'must not contain ..';
  if (branch.endsWith('.') || branch.endsWith('.lock')) return 'must not end with . or .lock';
  if (branch.split('/').some((part) => part.startsWith('.'))) return 'no path segment may start with a dot';
  if (branch === '@' || branch.includes('@{')) return 'must not be @ or contain @{';
  return undefined;
}

/** A tag glob such as `v*` or `release-*`. */
export function tagPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0 || pattern.length > 255) return 'must be 1 to 255 characters';
  if (!/^[A-Za-z0-9._/*?+-]+$/.test(pattern)) return 'may contain only letters, digits, * ? and . _ / + -';
  if (pattern.startsWith('-')) return 'must not start with a dash';
  return undefined;
}

/** A path inside the repository, e.g. `docker/Dockerfile.prod`. */
export function repoPathProblem(path: string): string | undefined {
  if (path.length === 0 || path.length > 255) return 'must be 1 to 255 characters';
  if (!/^[A-Za-z0-9._/-]+$/.test(path)) return 'may contain only letters, digits and . _ / -';
  if (path.startsWith('/') || path.startsWith('-')) return 'must be relative and not start with a dash';
  if (path.split('/').some((part) => part === '..' || part === '.' || part === ''))
    return 'must not contain ., .. or empty segments';
  return undefined;
}
