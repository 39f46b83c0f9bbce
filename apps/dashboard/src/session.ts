import { api, onSignedOut, setCsrfToken } from './api.ts';
import { startChanges, stopChanges } from './changes.ts';

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

export function currentSession(): Session | null {
  return session;
}

export function onSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The session the cookie carries, if any (on load). */
export async function restoreSession(): Promise<Session | null> {
  try {
    // 204 (no live session) is undefined.
    set((await api<Session | undefined>('GET', '/session')) ?? null);
  } catch {
    set(null);
  }
  return session;
}

/** Exchanges an API token for a session cookie; the token is not kept anywhere in the page. */
export async function signIn(token: string): Promise<Session> {
  const next = await api<Session>('POST', '/session', { token });
  set(next);
  return next;
}

/** Revokes the session on the server, then forgets it here. */
export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/session');
  } finally {
    set(null);
  }
}
