import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, path, query } from '../api.ts';
import type { LogLine, LogsAnswer } from '../types-observe.ts';

/** The most lines the page keeps: past it, the lines furthest from where lines are added are dropped. */
export const MAX_LINES = 2000;
/** Lines shown when following starts, and asked for by each "load earlier". */
const FIRST_TAIL = 200;
const EARLIER_PAGE = 500;
/** Lines arriving within this long are drawn together (a busy app prints thousands a second). */
const FLUSH_MS = 100;
/** A stream the browser gave up on is opened again after 1 s, 2 s, 4 s … at most 15 s. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;

export interface LogFilters {
  process: string;
  replica: string;
  text: string;
}

/** `live`: following new lines; `range`: the stored lines between two times. */
export type LogMode = { kind: 'live' } | { kind: 'range'; since: string; until: string };

export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'paused' | 'stopped' | 'loading' | 'range';

export interface LogBuffer {
  lines: readonly LogLine[];
  status: StreamStatus;
  error: ApiError | undefined;
  /** False once the store has no lines before the oldest shown. */
  earlierAvailable: boolean;
  earlierPending: boolean;
  loadEarlier: () => void;
  pause: () => void;
  resume: () => void;
}

const filterQuery = (f: LogFilters) => ({
  process: f.process || undefined,
  replica: f.replica || undefined,
  text: f.text || undefined,
});

/**
 * An environment's log lines: followed live over Server-Sent Events (`?follow=1`, resumed after the last
 * line seen), or read once for a time range; "load earlier" prepends the stored lines before the oldest
 * shown. At most MAX_LINES are kept. A new `filters` or `mode` starts afresh.
 */
export function useLogLines(app: string, env: string, filters: LogFilters, mode: LogMode): LogBuffer {
  const base = path`/apps/${app}/environments/${env}/logs`;
  const [lines, setLines] = useState<readonly LogLine[]>([]);
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [earlier, setEarlier] = useState({ exhausted: false, pending: false });
  const buffer = useRef<LogLine[]>([]);
  const pending = useRef<LogLine[]>([]);
  const source = useRef<EventSource | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const retry = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const delay = useRef(RETRY_FIRST_MS);
  /** True between a stream the browser gave up on and the one opened again. */
  const reconnect = useRef(false);
  /** Bumped on every restart: answers of an earlier generation are dropped. */
  const generation = useRef(0);
  const key = `${base}?${JSON.stringify(filters)}&${JSON.stringify(mode)}`;

  const show = useCallback((next: LogLine[]) => {
    buffer.current = next;
    setLines(next);
  }, []);

  const flush = useCallback(() => {
    timer.current = undefined;
    const arrived = pending.current;
    pending.current = [];
    if (arrived.length === 0) return;
    let next = buffer.current.concat(arrived);
    if (next.length > MAX_LINES) {
      next = next.slice(next.length - MAX_LINES);
      setEarlier((e) => ({ ...e, exhausted: false }));
    }
    show(next);
  }, [show]);

  const close = useCallback(() => {
    source.current?.close();
    source.current = null;
    clearTimeout(timer.current);
    clearTimeout(retry.current);
    reconnect.current = false;
    flush();
  }, [flush]);

  /**
   * The browser gave up on the stream (not an event stream: the api restarting, a 404, a signed-out session).
   * The same path as JSON says which: a refusal (4xx) is shown and following stops; otherwise the stream is
   * opened again after 1 s, 2 s, 4 s … 15 s, after the last line shown.
   */
  const probe = useCallback(
    (mine: number, again: () => void) => {
      const later = () => {
        // Not when paused or restarted meanwhile.
        if (mine !== generation.current || !reconnect.current) return;
        retry.current = setTimeout(again, delay.current);
        delay.current = Math.min(delay.current * 2, RETRY_MAX_MS);
      };
      get<LogsAnswer>(base + query({ tail: 0, ...filterQuery(filters) })).then(later, (err: unknown) => {
        if (mine !== generation.current) return;
        if (!reconnect.current) return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          reconnect.current = false;
          setError(err);
          setStatus('stopped');
        } else later();
      });
    },
    [base, filters],
  );

  const follow = useCallback(
    function follow(after: number | undefined) {
      const mine = generation.current;
      setStatus('connecting');
      setError(undefined);
      const q = { follow: 1, ...filterQuery(filters), ...(after === undefined ? { tail: FIRST_TAIL } : { after, tail: 1000 }) };
      const es = new EventSource(base + query(q));
      source.current = es;
      es.addEventListener('open', () => {
        delay.current = RETRY_FIRST_MS;
        setStatus('live');
      });
      es.addEventListener('line', (e) => {
        const line = JSON.parse((e as MessageEvent<string>).data) as LogLine;
        const last = pending.current.at(-1) ?? buffer.current.at(-1);
        // A reconnect resumes after the last id sent; a line already shown is not shown twice.
        if (last && line.id <= last.id) return;
        pending.current.push(line);
        if (pending.current.length > MAX_LINES) pending.current.splice(0, pending.current.length - MAX_LINES);
        timer.current ??= setTimeout(flush, FLUSH_MS);
      });
      es.addEventListener('error', (e) => {
        if (e instanceof MessageEvent) {
          // The API's own `event: error` ({ code, message }): the stream ended on purpose.
          const body = JSON.parse(String(e.data)) as { code?: string; message?: string };
          setError(new ApiError(0, body.code ?? 'stream', body.message ?? 'The log stream failed'));
          close();
          setStatus('stopped');
        } else if (es.readyState === EventSource.CLOSED) {
          close();
          setStatus('reconnecting');
          reconnect.current = true;
          probe(mine, () => {
            follow(buffer.current.at(-1)?.id);
            setStatus('reconnecting');
          });
        } else {
          setStatus('reconnecting');
        }
      });
    },
    [base, filters, flush, close, probe],
  );

  // A new environment, filter or mode (`key` names them all): start afresh.
  useEffect(() => {
    const mine = ++generation.current;
    pending.current = [];
    show([]);
    setEarlier({ exhausted: false, pending: false });
    setError(undefined);
    if (mode.kind === 'live') follow(undefined);
    else {
      setStatus('loading');
      get<LogsAnswer>(base + query({ tail: MAX_LINES, since: mode.since, until: mode.until, ...filterQuery(filters) })).then(
        (answer) => {
          if (mine !== generation.current) return;
          show(answer.lines);
          setEarlier({ exhausted: answer.lines.length < MAX_LINES && !answer.truncated, pending: false });
          setStatus('range');
        },
        (err: unknown) => {
          if (mine !== generation.current) return;
          setError(err instanceof ApiError ? err : new ApiError(0, 'client', String(err)));
          setStatus('stopped');
        },
      );
    }
    return () => {
      generation.current++;
      close();
    };
  }, [key]);

  const pause = useCallback(() => {
    close();
    setStatus('paused');
  }, [close]);

  const resume = useCallback(() => {
    if (source.current) return;
    follow(buffer.current.at(-1)?.id);
  }, [follow]);

  const loadEarlier = useCallback(() => {
    const oldest = buffer.current[0];
    const mine = generation.current;
    setEarlier((e) => ({ ...e, pending: true }));
    setError(undefined);
    const range = mode.kind === 'range' ? { since: mode.since } : {};
    const q = { tail: EARLIER_PAGE, ...range, ...(oldest ? { before: oldest.id } : {}), ...filterQuery(filters) };
    get<LogsAnswer>(base + query(q)).then(
      (answer) => {
        if (mine !== generation.current) return;
        // With no line shown when asked, lines that arrived live meanwhile may come again: kept once.
        const first = buffer.current[0];
        const older = first ? answer.lines.filter((l) => l.id < first.id) : answer.lines;
        let next = older.concat(buffer.current);
        if (next.length > MAX_LINES) {
          // The newest lines make room: following on from them would leave a hole, so following pauses.
          next = next.slice(0, MAX_LINES);
          if (source.current) {
            close();
            setStatus('paused');
          }
        }
        show(next);
        setEarlier({
          exhausted: older.length === 0 || (answer.lines.length < EARLIER_PAGE && !answer.truncated),
          pending: false,
        });
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(err instanceof ApiError ? err : new ApiError(0, 'client', String(err)));
        setEarlier((e) => ({ ...e, pending: false }));
      },
    );
  }, [base, filters, mode, show, close]);

  return {
    lines,
    status,
    error,
    earlierAvailable: !earlier.exhausted,
    earlierPending: earlier.pending,
    loadEarlier,
    pause,
    resume,
  };
}
