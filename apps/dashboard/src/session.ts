import { ApiError, api, onCsrfRefused, onSignedOut, setCsrfToken } from './api.ts';
import { onFeedSignedOut, startChanges, stopChanges } from './changes.ts';

export interface Session {
  role: 'admin' | 'app';
  /** The one app an app token's session sees. */
  app: string | null;
  csrfToken: string;
  expiresAt: string;
  version: string;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();
let session: Session | null = null;

function set(next: Session | null): void {
  session = next;
  setCsrfToken(next?.csrfToken ?? '');
  if (next) startChanges();
  else stopChanges();
  for (const l of listeners) l(next);
}

onSignedOut(() => set(null));

/** The session the cookie carries now (another tab may have signed out, or in again): the page follows it. */
async function refresh(): Promise<Session | null> {
  set((await api<Session | undefined>('GET', '/session')) ?? null);
  return session;
}

// A change refused for its CSRF token: the cookie was replaced (another tab signed in again); its token then.
onCsrfRefused(() =>
  refresh().then(
    (s) => s !== null,
    () => false,
  ),
);
// The feed says the session it was opened with ended: the cookie may carry a newer one, else sign in again.
onFeedSignedOut(() => void refresh().catch(() => set(null)));

export function currentSession(): Session | null {
  return session;
}

export function onSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * The session the cookie carries, if any (on load). Throws the ApiError when Pier did not answer
 * (status 0: the api unreachable, e.g. restarting): that is not "signed out", and the caller tries again.
 */
export async function restoreSession(): Promise<Session | null> {
  try {
    // 204 (no live session) is undefined.
    return await refresh();
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) throw err;
    set(null);
    return null;
  }
}

/** Exchanges an API token for a session cookie; the token is not kept anywhere in the page. */
export async function signIn(token: string): Promise<Session> {
  const next = await api<Session>('POST', '/session', { token });
  set(next);
  return next;
}

/**
 * Revokes the session on the server, then forgets it here. A failure is thrown (the caller shows it)
 * and the session stays, except a 401: then there is no session to keep.
 */
export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/session');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) set(null);
    throw err;
  }
  set(null);
}
