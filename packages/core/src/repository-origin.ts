/**
 * The origin of a clone URL: the scheme, user and host (with port) that git
 * talks to. Repository credentials are bound to one origin: they are given for
 * it, dropped when the app's repository moves to another, and never sent to a
 * different one. Scheme and host compare case-insensitively, the user exactly.
 *
 * - `https://github.com/o/r.git`      → `https://github.com`
 * - `git@github.com:o/r.git`          → `ssh://git@github.com`
 * - `ssh://git@host:2222/o/r.git`     → `ssh://git@host:2222`
 * - `file:///srv/git/r.git`           → `file://`
 *
 * Returns null for a string that is no clone URL at all.
 */
export function repositoryOrigin(cloneUrl: string): string | null {
  const scpLike = /^(?:([^@/:\s]+)@)?([A-Za-z0-9.-]+):(?!\/\/)/.exec(cloneUrl);
  if (scpLike && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(cloneUrl)) {
    const [, user, host = ''] = scpLike;
    return `ssh://${user ? `${user}@` : ''}${host.toLowerCase()}`;
  }
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    return null;
  }
  const scheme = CLONE_URL_SCHEMES[url.protocol];
  if (scheme === undefined) return null;
  if (scheme === 'file') return 'file://';
  const port = url.port && url.port !== DEFAULT_PORTS[scheme] ? `:${url.port}` : '';
  const user = scheme === 'ssh' && url.username ? `${decodeURIComponent(url.username)}@` : '';
  return `${scheme}://${user}${url.hostname.toLowerCase()}${port}`;
}

/** True when both URLs reach the same origin (two unparseable URLs never do). */
export function sameRepositoryOrigin(a: string, b: string): boolean {
  const origin = repositoryOrigin(a);
  return origin !== null && origin === repositoryOrigin(b);
}

/** Transports a clone URL may use. */
export type CloneProtocol = 'https' | 'http' | 'ssh' | 'git' | 'file';

/** The transport of each URL scheme git accepts for a clone URL (`new URL().protocol` → transport). */
export const CLONE_URL_SCHEMES: Readonly<Record<string, CloneProtocol>> = {
  'https:': 'https',
  'http:': 'http',
  'ssh:': 'ssh',
  'git+ssh:': 'ssh',
  'ssh+git:': 'ssh',
  'git:': 'git',
  'file:': 'file',
};

const DEFAULT_PORTS: Record<string, string> = { https: '443', http: '80', ssh: '22', git: '9418' };
