/**
 * The live feed: one `EventSource` on `GET /changes` for the whole page.
 * Each batch names the tables that changed and their app; `reset` (a feed
 * ready again after one that was ready had been lost, or after the tab was
 * hidden) means anything may have changed.
 */

export interface Change {
  table: string;
  app: string | null;
}

type Listener = (changes: Change[] | 'reset') => void;

/** How long after the feed was refused (not an event stream: 401, 503, the api down) it is tried again. */
const RETRY_MS = 5000;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | undefined;
let wanted = false;
/** Set when a feed that had been ready was lost (or closed while hidden): the next `ready` says `reset`. */
let missed = false;
let signedOut: () => void = () => {};

function emit(changes: Change[] | 'reset'): void {
  for (const listener of listeners) listener(changes);
}

function open(): void {
  if (!wanted || source || document.hidden) return;
  clearTimeout(retry);
  const es = new EventSource('/changes');
  source = es;
  let ready = false;
  es.addEventListener('ready', () => {
    ready = true;
    // Changes made while no feed listened were not heard: anything may have changed.
    if (missed) emit('reset');
    missed = false;
  });
  es.addEventListener('changes', (e) => emit(JSON.parse((e as MessageEvent<string>).data) as Change[]));
  es.addEventListener('reset', () => emit('reset'));
  es.addEventListener('signed-out', () => {
    close();
    signedOut();
  });
  es.onerror = () => {
    if (ready) missed = true;
    ready = false;
    // The browser reconnects by itself unless the answer was not an event stream (401, 503): then again later.
    if (es.readyState === EventSource.CLOSED && source === es) {
      source = null;
      retry = setTimeout(open, RETRY_MS);
    }
  };
}

// A hidden tab holds no connection (a browser allows 6 per origin over HTTP/1.1, across all its tabs);
// when it shows again, the feed reopens and its `ready` says `reset`.
if (typeof document !== 'undefined') {
  document.addEventListener('visibilitychange', () => {
    if (!wanted) return;
    if (document.hidden) {
      if (source) missed = true;
      close();
    } else open();
  });
}

/** Starts the feed (once signed in). */
export function startChanges(): void {
  wanted = true;
  open();
}

/** Stops it (signed out). */
export function stopChanges(): void {
  wanted = false;
  missed = false;
  close();
}

/** What to do when the server says the session ended (`signed-out`): set by session.ts (no import cycle). */
export function onFeedSignedOut(listener: () => void): void {
  signedOut = listener;
}

function close(): void {
  clearTimeout(retry);
  source?.close();
  source = null;
}

export function onChanges(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
