import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { path, query } from '../api.ts';
import { StateBadge } from './ui.tsx';

/** Lines kept in the page; older ones are dropped (the whole output stays in Pier). */
const MAX_LINES = 5000;
/** A stream the browser gave up on is opened again after 1 s, 2 s, 4 s … at most 15 s. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;

interface OutputLine {
  id: number;
  stream: string;
  line: string;
}

interface RunEnd {
  state: string;
  exitCode: number | null;
  reason: string | null;
}

/**
 * A run's output, live: `…/runs/:run/output` as Server-Sent Events (`line`,
 * then `end` with the state and exit code). Closed at the end, so that the
 * browser does not reconnect, and when the page goes away; opened again
 * (after the last line shown) when the browser gave up on it, e.g. while the
 * api restarts.
 */
export function RunOutput(props: { app: string; env: string; run: string }) {
  const [lines, setLines] = useState<OutputLine[]>([]);
  const [end, setEnd] = useState<RunEnd | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [reconnecting, setReconnecting] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  useEffect(() => {
    setLines([]);
    setEnd(null);
    setFailure(null);
    setReconnecting(false);
    following.current = true;
    const url = path`/apps/${props.app}/environments/${props.env}/runs/${props.run}/output`;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let delay = RETRY_FIRST_MS;
    /** The id of the last line shown: a new stream resumes after it (`?after=`). */
    let lastId = 0;
    let nextKey = 0;
    const open = () => {
      const es = new EventSource(lastId > 0 ? `${url}${query({ after: lastId })}` : url);
      source = es;
      es.addEventListener('open', () => {
        delay = RETRY_FIRST_MS;
        setReconnecting(false);
      });
      es.addEventListener('line', (e) => {
        const event = e as MessageEvent<string>;
        const id = Number(event.lastEventId);
        // A reconnection resumes after the last id seen: a line already shown is not shown twice.
        if (Number.isSafeInteger(id) && id > 0) {
          if (id <= lastId) return;
          lastId = id;
        }
        const data = JSON.parse(event.data) as { stream: string; line: string };
        const line = { id: nextKey++, stream: data.stream, line: data.line };
        setLines((all) => (all.length >= MAX_LINES ? [...all.slice(all.length - MAX_LINES + 1), line] : [...all, line]));
      });
      es.addEventListener('end', (e) => {
        setEnd(JSON.parse((e as MessageEvent<string>).data) as RunEnd);
        setReconnecting(false);
        es.close();
      });
      es.addEventListener('error', (e) => {
        // A server's `event: error` carries why; a dropped connection has no data and EventSource retries by itself.
        const data = (e as MessageEvent<string | undefined>).data;
        if (data) {
          setFailure((JSON.parse(data) as { message?: string }).message ?? 'the output stream failed');
          setReconnecting(false);
          es.close();
        } else if (es.readyState === EventSource.CLOSED) {
          // Refused (the api restarting answers 502/503, not a stream): again later, after the last line shown.
          setReconnecting(true);
          retry = setTimeout(open, delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
        } else setReconnecting(true);
      });
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
    };
  }, [props.app, props.env, props.run]);

  // Keeps the newest line in view unless the user scrolled up to read.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <div class="run-output">
      <p class="run-output-state" role="status">
        {end ? (
          <>
            <StateBadge state={end.state} /> exit code {end.exitCode ?? 'none'}
            {end.reason && <span class="muted"> · {end.reason}</span>}
          </>
        ) : failure ? null : reconnecting ? (
          <>
            <StateBadge state="running" /> Reconnecting…
          </>
        ) : (
          <>
            <StateBadge state="running" /> streaming…
          </>
        )}
      </p>
      {failure && (
        <p class="error-note" role="alert">
          {failure}
        </p>
      )}
      <OutputBox
        box={box}
        lines={lines}
        empty={end ? '(no output)' : 'waiting for output…'}
        onScroll={(el) => {
          following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      />
    </div>
  );
}

function OutputBox(props: {
  box: RefObject<HTMLDivElement | null>;
  lines: OutputLine[];
  empty: string;
  onScroll: (el: HTMLDivElement) => void;
}) {
  const scrolled = (e: { currentTarget: HTMLDivElement }) => props.onScroll(e.currentTarget);
  return (
    // A scrollable box reachable by keyboard; role=log without announcing each line (the end is announced above).
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the box scrolls, and keyboard users must be able to scroll it.
    <div ref={props.box} class="log" role="log" aria-live="off" aria-label="Run output" tabIndex={0} onScroll={scrolled}>
      {props.lines.length === 0 && <span class="line meta">{props.empty}</span>}
      {props.lines.map((l) => (
        <span key={l.id} class={`line${l.stream === 'stderr' ? ' stderr' : ''}`}>
          {l.line}
        </span>
      ))}
    </div>
  );
}
