import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { path } from '../api.ts';
import { StateBadge } from './ui.tsx';

/** Lines kept in the page; older ones are dropped (the whole output stays in Pier). */
const MAX_LINES = 5000;

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
 * browser does not reconnect, and when the page goes away.
 */
export function RunOutput(props: { app: string; env: string; run: string }) {
  const [lines, setLines] = useState<OutputLine[]>([]);
  const [end, setEnd] = useState<RunEnd | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const following = useRef(true);

  useEffect(() => {
    setLines([]);
    setEnd(null);
    setFailure(null);
    following.current = true;
    const source = new EventSource(path`/apps/${props.app}/environments/${props.env}/runs/${props.run}/output`);
    let nextId = 0;
    source.addEventListener('line', (e) => {
      const data = JSON.parse((e as MessageEvent<string>).data) as { stream: string; line: string };
      const line = { id: nextId++, stream: data.stream, line: data.line };
      setLines((all) => (all.length >= MAX_LINES ? [...all.slice(all.length - MAX_LINES + 1), line] : [...all, line]));
    });
    source.addEventListener('end', (e) => {
      setEnd(JSON.parse((e as MessageEvent<string>).data) as RunEnd);
      source.close();
    });
    source.addEventListener('error', (e) => {
      // A server's `event: error` carries why; a dropped connection has no data and EventSource retries by itself.
      const data = (e as MessageEvent<string | undefined>).data;
      if (data) {
        setFailure((JSON.parse(data) as { message?: string }).message ?? 'the output stream failed');
        source.close();
      } else if (source.readyState === EventSource.CLOSED) {
        setFailure('the output could not be read: reload to try again');
      }
    });
    return () => source.close();
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
        ) : failure ? null : (
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
