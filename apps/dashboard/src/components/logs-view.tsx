import { memo } from 'preact/compat';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { LogLine } from '../types-observe.ts';

const two = (n: number) => String(n).padStart(2, '0');

/** `12:03:04.125` in local time (the full date and time are the line's title). */
function clock(at: string): string {
  const d = new Date(at);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** A replica's container name without the app's and environment's prefix (`pier-shop-staging-web-3-a1b2` → `web-3-a1b2`). */
export function shortReplica(replica: string, app: string, env: string): string {
  const prefix = `pier-${app}-${env}-`;
  return replica.startsWith(prefix) ? replica.slice(prefix.length) : replica;
}

const Line = memo(function Line(props: { line: LogLine; app: string; env: string }) {
  const { line } = props;
  const err = line.stream === 'stderr';
  return (
    <span class={err ? 'line stderr' : 'line'} data-id={line.id}>
      <span class="meta">
        <time dateTime={line.at} title={new Date(line.at).toLocaleString()}>
          {clock(line.at)}
        </time>{' '}
        <span title={line.replica}>
          {line.process}
          <span class="hide-narrow">/{shortReplica(line.replica, props.app, props.env)}</span>
        </span>
        {err ? ' stderr' : ''}
      </span>{' '}
      {/* Plain text: whatever an app prints is never markup. */}
      {line.line}
    </span>
  );
});

/** Where the user was reading when not at the bottom: a line and its distance from the box's top. */
interface Anchor {
  id: string;
  offset: number;
}

/**
 * The lines in a fixed-height box (`.log`): lines arriving never move the page. It follows the newest line
 * only while the user is at the bottom; scrolled up, the line they read stays where it is while lines are
 * added below, loaded above or dropped from the top.
 */
export function LogBox(props: { lines: readonly LogLine[]; app: string; env: string; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const anchor = useRef<Anchor | null>(null);

  const remember = () => {
    const el = box.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
    anchor.current = atBottom.current ? null : firstVisible(el);
  };

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
      return;
    }
    const held = anchor.current;
    const line = held ? el.querySelector<HTMLElement>(`[data-id="${held.id}"]`) : null;
    if (held && line) el.scrollTop += line.getBoundingClientRect().top - el.getBoundingClientRect().top - held.offset;
    remember();
  }, [props.lines]);

  return (
    // A scrollable region reachable by keyboard; role=log without announcing each line (that would drown a screen reader).
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the box scrolls, and keyboard users must be able to scroll it.
    <div ref={box} class="log" role="log" aria-live="off" aria-label={props.label} tabIndex={0} onScroll={remember}>
      {props.lines.length === 0 ? (
        <span class="meta">No lines yet.</span>
      ) : (
        props.lines.map((line) => <Line key={line.id} line={line} app={props.app} env={props.env} />)
      )}
    </div>
  );
}

/** The first line at or below the box's top edge (a binary search: lines are in order). */
function firstVisible(el: HTMLElement): Anchor | null {
  const lines = el.children;
  const top = el.getBoundingClientRect().top;
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((lines[mid] as HTMLElement).getBoundingClientRect().bottom <= top) lo = mid + 1;
    else hi = mid;
  }
  const line = lines[lo] as HTMLElement | undefined;
  const id = line?.dataset.id;
  return line && id ? { id, offset: line.getBoundingClientRect().top - top } : null;
}
