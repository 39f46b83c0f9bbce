import { CLONE_URL_SCHEMES, type CloneProtocol, ValidationError } from '@pier/core';

/** `file` is a transport only when the fetcher allows it. */
export type { CloneProtocol };

/** A clone URL that passed validation, and how git will reach it. */
export interface CloneUrl {
  url: string;
  protocol: CloneProtocol;
}

export interface CloneUrlRules {
  /** `file://` URLs read the host's filesystem: only for tests and local mirrors. */
  allowFile: boolean;
}

const FIELD = 'cloneUrl';
const SCP_LIKE = /^(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9.-]+):([^\s]+)$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Why `url` is not an acceptable clone URL, or undefined. Accepts http(s),
 * ssh, git and (if allowed) file URLs, and scp-like `user@host:path`. Refuses
 * `<transport>::<address>` (e.g. `ext::`), a leading dash anywhere git or ssh
 * would read it as an option, passwords in the URL, whitespace and control characters.
 */
export function cloneUrlProblem(url: string, rules: CloneUrlRules): string | undefined {
  if (url.length === 0 || url.length > 2048) return 'must be 1 to 2048 characters';
  if (!/^[\x21-\x7e]+$/.test(url)) return 'must not contain whitespace, control or non-ASCII characters';
  if (url.startsWith('-')) return 'must not start with a dash';
  if (/^[A-Za-z0-9+.-]+::/.test(url)) return 'must not use a <transport>::<address> remote helper';
  return SCHEME.test(url) ? schemeUrlProblem(url, rules) : scpLikeProblem(url);
}

/** Validates and classifies a clone URL; throws a ValidationError naming `cloneUrl`. */
export function parseCloneUrl(url: string, rules: CloneUrlRules): CloneUrl {
  const problem = cloneUrlProblem(url, rules);
  if (problem) throw new ValidationError(`cloneUrl: ${problem}`, FIELD);
  return { url, protocol: protocolOf(url) };
}

function protocolOf(url: string): CloneProtocol {
  if (!SCHEME.test(url)) return 'ssh';
  return CLONE_URL_SCHEMES[new URL(url).protocol] ?? 'ssh';
}

function schemeUrlProblem(text: string, rules: CloneUrlRules): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a valid URL';
  }
  const protocol = CLONE_URL_SCHEMES[url.protocol];
  if (protocol === undefined) return 'must be an https, http, ssh, git or file URL, or user@host:path';
  if (protocol === 'file') return rules.allowFile ? undefined : 'file URLs are not allowed';
  if (url.hostname === '' || url.hostname.startsWith('-')) return 'must name a host that does not start with a dash';
  if (url.username.startsWith('-')) return 'must not have a user name that starts with a dash';
  if (url.password !== '') return 'must not contain a password: give the app an access token instead';
  if (url.pathname === '/' || url.pathname === '') return 'must include the repository path';
  return undefined;
}

function scpLikeProblem(url: string): string | undefined {
  const match = SCP_LIKE.exec(url);
  if (!match) return 'must be an https, http, ssh, git or file URL, or user@host:path';
  const [, user = '', host = '', path = ''] = match;
  if (user.startsWith('-') || host.startsWith('-')) return 'must not have a user or host that starts with a dash';
  if (path.startsWith('-')) return 'must not have a path that starts with a dash';
  return undefined;
}
