/**
 * The live feed: one `EventSource` on `GET /changes` for the whole page.
 * Each batch names the tables that changed and their app; `reset` (a feed
 * re-established after a drop) means anything may have changed.
 */

export interface Change {
  table: string;
  app: string | null;
}

type Listener = (changes: Change[] | 'reset') => void;

const listeners = new Set<Listener>();
let source: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | undefined;
let wanted = false;

function emit(changes: Change[] | 'reset'): void {
  for (const listener of listeners) listener(changes);
}

function open(): void {
  if (!wanted || source) return;
  const es = new EventSource('/changes');
  source = es;
  let opened = false;
  es.addEventListener('ready', () => {
    // After a reconnection, what changed in between was missed.
    if (opened) emit('reset');
    opened = true;
  });
  es.addEventListener('changes', (e) => emit(JSON.parse((e as MessageEvent<string>).data) as Change[]));
  es.addEventListener('reset', () => emit('reset'));
  es.addEventListener('signed-out', () => close());
  es.onerror = () => {
    // The browser reconnects by itself unless the answer was not an event stream (401, 503): then again later.
    if (es.readyState === EventSource.CLOSED) {
      source = null;
      retry = setTimeout(() => {
        if (wanted) {
          emit('reset');
          open();
        }
      }, 5000);
    }
  };
}

/** Starts the feed (once signed in). */
export function startChanges(): void {
  wanted = true;
  open();
}

/** Stops it (signed out). */
export function stopChanges(): void {
  wanted = false;
  close();
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
