import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (`#/apps/web/variables/staging`): the api serves one page at
 * `/`, and its own paths (`/apps`, `/services`) stay the REST API's.
 */

export type Params = Record<string, string>;

/** Matches `pattern` (`/apps/:app/logs/:env`) against `path`; the decoded params, or null. */
export function match(pattern: string, path: string): Params | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return null;
      }
      // Names are [a-z0-9-] and keys [A-Z0-9_]: a value that could move a REST path elsewhere is no match.
      if (value === '.' || value === '..' || value.includes('/')) return null;
      params[w.slice(1)] = value;
    } else if (w !== g) return null;
  }
  return params;
}

/** The current route: its path and its query (`#/events?kind=deploy.failed`). */
export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  const hash = window.location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  return { path, query: new URLSearchParams(search) };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const changed = () => setLocation(current());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return location;
}

/** `#/apps/<app>/…` with each segment encoded: href('apps', name, 'logs', env). */
export function href(...segments: (string | number)[]): string {
  return `#/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}
