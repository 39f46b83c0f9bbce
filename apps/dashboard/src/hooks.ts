import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get } from './api.ts';
import { onChanges } from './changes.ts';

/** How long after a load the browser dropped it is tried again. */
const RETRY_UNREACHED_MS = 3000;

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

export interface LiveOptions {
  /** Tables whose changes make this resource load again (see GET /changes). */
  tables: readonly string[];
  /** Only changes of this app (and the host's own, when `host`); default every app's. */
  app?: string;
}

/**
 * GETs `path` and loads it again whenever the change feed says one of
 * `tables` changed (for `app`), keeping what it shows meanwhile, so a page
 * never blanks while it refreshes. A null path loads nothing.
 */
export function useResource<T>(path: string | null, live?: LiveOptions): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean; path: string | null }>({
    loading: path !== null,
    path,
  });
  const generation = useRef(0);
  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => {
        if (mine === generation.current) setState({ data, loading: false, path });
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        const failure = error instanceof ApiError ? error : new ApiError(0, 'client', String(error));
        setState((s) => ({ ...s, error: failure, loading: false }));
      },
    );
  }, [path]);

  useEffect(() => {
    // A new path starts afresh: nothing of the previous one is shown as if it were this one's.
    setState({ loading: path !== null, path });
    load();
  }, [load, path]);

  // A load that never reached the api (the browser dropped it, e.g. on a network change as Docker adds a
  // bridge on the host) is tried again a few seconds later, so a live page does not keep a stale state.
  useEffect(() => {
    if (state.loading || state.error?.status !== 0 || state.error.code !== 'network') return;
    const timer = setTimeout(load, RETRY_UNREACHED_MS);
    return () => clearTimeout(timer);
  }, [state.error, state.loading, load]);

  const tables = live?.tables.join(',');
  const app = live?.app;
  useEffect(() => {
    if (!tables) return;
    const watched = new Set(tables.split(','));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onChanges((changes) => {
      const relevant =
        changes === 'reset' ||
        changes.some((c) => watched.has(c.table) && (app === undefined || c.app === app || c.app === null));
      if (!relevant) return;
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [tables, app, load]);

  const current: { data?: T; error?: ApiError; loading: boolean } = state.path === path ? state : { loading: path !== null };
  return { data: current.data, error: current.error, loading: current.loading, reload: load };
}

export interface Action<A extends unknown[], R> {
  run: (...args: A) => Promise<R | undefined>;
  pending: boolean;
  error: ApiError | undefined;
  result: R | undefined;
  reset: () => void;
}

/** A change the user asks for: whether it is running, its result, or the API's error (never thrown at the page). */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): Action<A, R> {
  const [state, setState] = useState<{ pending: boolean; error?: ApiError; result?: R }>({ pending: false });
  const latest = useRef(action);
  latest.current = action;
  const run = useCallback(async (...args: A) => {
    setState({ pending: true });
    try {
      const result = await latest.current(...args);
      setState({ pending: false, result });
      return result;
    } catch (error) {
      setState({ pending: false, error: error instanceof ApiError ? error : new ApiError(0, 'client', String(error)) });
      return undefined;
    }
  }, []);
  const reset = useCallback(() => setState({ pending: false }), []);
  return { run, pending: state.pending, error: state.error, result: state.result, reset };
}

/** Re-renders every `ms` (for "3 minutes ago" texts). */
export function useTick(ms: number): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return tick;
}

/** The props `useConfirmed` gives its `ConfirmDialog`. */
export interface ConfirmedDialogProps {
  open: boolean;
  pending: boolean;
  error: ApiError | undefined;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A change the user confirms first, on one subject (the token to revoke, the run to cancel): `ask(subject)`
 * opens the dialog; `dialog` holds the `ConfirmDialog`'s props. Success closes it and calls `after`; a
 * failure keeps it open with the API's error. `done` is the subject last changed and `action.result` what
 * the API answered (for a notice).
 */
export function useConfirmed<T, R>(change: (subject: T) => Promise<R>, after?: (result: R, subject: T) => void) {
  const [subject, setSubject] = useState<T | null>(null);
  /** The subject of the last change that succeeded (for its notice), until the next one is asked for. */
  const [done, setDone] = useState<T | null>(null);
  const action = useAction(async (confirmed: T) => {
    const result = await change(confirmed);
    setSubject(null);
    setDone(confirmed);
    after?.(result, confirmed);
    return result;
  });
  const ask = (next: T) => {
    action.reset();
    setDone(null);
    setSubject(next);
  };
  const dialog: ConfirmedDialogProps = {
    open: subject !== null,
    pending: action.pending,
    error: action.error,
    onConfirm: () => {
      if (subject !== null) void action.run(subject);
    },
    onCancel: () => {
      setSubject(null);
      action.reset();
    },
  };
  return { subject, done, ask, action, dialog };
}
