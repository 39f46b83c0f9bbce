import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { get, path, query } from '../api.ts';
import type { BuildLine } from '../types-app.ts';

/** Lines kept on the page; older ones are dropped (the API keeps them all). */
const MAX_LINES = 10_000;
/** After the build's stream ended, the rollout's lines are read this often until the deployment ends (they have no table). */
const ROLLOUT_POLL_MS = 10_000;

type StreamState = 'connecting' | 'streaming' | 'reconnecting' | 'ended' | 'failed';
/** A stream the browser gave up on is opened again after 1 s, 2 s, 4 s … at most 15 s. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15_000;

/**
 * A deployment's output: the build streamed live (`/deployments/:id/logs?follow=1`:
 * `line` events until `end`), then the rollout's lines as they are stored,
 * read when the deployment changes (`changed`) and at most every 10 s until it
 * ends (`terminal`). The box keeps its height, and follows new lines only
 * while the reader is at its bottom.
 */
export function DeploymentLog(props: { id: string; changed: string; terminal: boolean }) {
  const { id, changed, terminal } = props;
  const [lines, setLines] = useState<BuildLine[]>([]);
  const [dropped, setDropped] = useState(0);
  const [stream, setStream] = useState<StreamState>('connecting');
  const [failure, setFailure] = useState<string | null>(null);
  const lastId = useRef(0);
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);

  const append = (batch: BuildLine[]) => {
    const fresh = batch.filter((l) => l.id === undefined || l.id > lastId.current);
    if (fresh.length === 0) return;
    for (const l of fresh) if (l.id !== undefined) lastId.current = Math.max(lastId.current, l.id);
    setLines((old) => {
      const next = old.concat(fresh);
      if (next.length <= MAX_LINES) return next;
      setDropped((d) => d + next.length - MAX_LINES);
      return next.slice(next.length - MAX_LINES);
    });
  };
  const appendRef = useRef(append);
  appendRef.current = append;

  // The build's stream: lines batched per frame, so a fast build does not re-render per line.
  useEffect(() => {
    lastId.current = 0;
    setLines([]);
    setDropped(0);
    setStream('connecting');
    setFailure(null);
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let delay = RETRY_FIRST_MS;
    let pending: BuildLine[] = [];
    let highest = 0;
    let frame = 0;
    const flush = () => {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      const batch = pending;
      pending = [];
      appendRef.current(batch);
    };
    const open = () => {
      // Opened again after the browser gave up (the api restarting): resumes after the last line shown.
      const es = new EventSource(`${path`/deployments/${id}/logs`}${query({ follow: 1, after: lastId.current || undefined })}`);
      source = es;
      es.addEventListener('open', () => {
        delay = RETRY_FIRST_MS;
        setStream('streaming');
      });
      es.addEventListener('line', (e) => {
        const event = e as MessageEvent<string>;
        const line = JSON.parse(event.data) as BuildLine;
        const lineId = Number(event.lastEventId);
        if (event.lastEventId && Number.isSafeInteger(lineId)) {
          // A reconnection (its URL's `after` wins over Last-Event-ID) may send a line again: shown once.
          if (lineId <= highest) return;
          highest = lineId;
        }
        pending.push({ ...line, ...(event.lastEventId ? { id: lineId } : {}) });
        if (!frame) frame = requestAnimationFrame(flush);
      });
      es.addEventListener('end', () => {
        es.close();
        flush();
        setStream('ended');
      });
      es.addEventListener('error', (e) => {
        const data = (e as MessageEvent<string | undefined>).data;
        if (data) {
          // The server's own `event: error` (the stream failed there): it says why.
          es.close();
          flush();
          const error = JSON.parse(data) as { message?: string };
          setFailure(error.message ?? 'the build output stream failed');
          setStream('failed');
        } else if (es.readyState === EventSource.CLOSED) {
          // Refused (not an event stream: the api restarting): again later, 1 s, 2 s, 4 s … 15 s.
          flush();
          setStream('reconnecting');
          retry = setTimeout(open, delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
        } else setStream('reconnecting');
        // Otherwise the browser reconnects by itself and resumes after the last line it got (Last-Event-ID).
      });
    };
    open();
    return () => {
      clearTimeout(retry);
      source?.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);

  // After the build (or once its stream failed): the rollout's lines, read on each change of the deployment and
  // every 10 s until it ends.
  useEffect(() => {
    if (stream !== 'ended' && stream !== 'failed') return;
    let stopped = false;
    const read = () =>
      get<{ lines: BuildLine[] }>(`${path`/deployments/${id}/logs`}${query({ after: lastId.current })}`).then(
        (answer) => {
          if (!stopped) appendRef.current(answer.lines);
        },
        () => {},
      );
    void read();
    const timer = terminal ? undefined : setInterval(read, ROLLOUT_POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [id, stream, changed, terminal]);

  // Follows the newest line only while the reader is at the bottom.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const streaming = stream === 'streaming' || stream === 'connecting';
  return (
    <>
      <p class="muted log-status" aria-live="polite">
        {lines.length} {lines.length === 1 ? 'line' : 'lines'}
        {dropped > 0 && ` (the first ${dropped} not shown)`}
        {stream === 'ended' && terminal && lines.length === 0 ? ' (no output stored)' : ''}
        {streaming
          ? ', streaming live'
          : stream === 'reconnecting'
            ? ', Reconnecting…'
            : stream === 'ended' && !terminal
              ? ', build done; rollout under way'
              : ''}
      </p>
      {failure && (
        <p class="error-note" role="alert">
          {failure}
        </p>
      )}
      <LogBox
        lines={lines}
        box={box}
        onScroll={(el) => {
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
        }}
      />
    </>
  );
}

function LogBox(props: { lines: BuildLine[]; box: RefObject<HTMLDivElement | null>; onScroll: (el: HTMLDivElement) => void }) {
  const scrolled = (e: { currentTarget: HTMLDivElement }) => props.onScroll(e.currentTarget);
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the box scrolls, and keyboard users must be able to scroll it.
    <div ref={props.box} class="log" role="log" aria-live="off" aria-label="Build output" tabIndex={0} onScroll={scrolled}>
      {props.lines.map((l, i) => (
        <span key={l.id ?? `i${i}`} class={`line${l.stream === 'stderr' ? ' stderr' : l.stream === 'system' ? ' meta' : ''}`}>
          {l.line}
        </span>
      ))}
    </div>
  );
}
