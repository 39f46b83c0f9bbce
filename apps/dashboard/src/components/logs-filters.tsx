import { useState } from 'preact/hooks';
import { ApiError } from '../api.ts';
import type { LogFilters, LogMode } from './logs-stream.tsx';
import { ErrorNote, Field } from './ui.tsx';

const PROCESS = /^[A-Za-z0-9_-]{1,63}$/;
const REPLICA = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_RANGE_DAYS = 31;

/** `2026-05-01T12:00` (a datetime-local input's value) of `date` in local time. */
function localInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** The same checks as the API's (environment-log-stream.ts), so that a stream never opens only to be refused. */
function check(filters: LogFilters, mode: LogMode): ApiError | undefined {
  const invalid = (message: string) => new ApiError(422, 'validation', message);
  if (filters.process && !PROCESS.test(filters.process)) return invalid('process: must be a process type name (web, worker, …)');
  if (filters.replica && !REPLICA.test(filters.replica)) return invalid('replica: must be a container name');
  if (filters.text.length > 200) return invalid('text: must be at most 200 characters');
  if (mode.kind === 'range') {
    const since = Date.parse(mode.since);
    const until = Date.parse(mode.until);
    if (Number.isNaN(since)) return invalid('since: give the time the range starts');
    if (Number.isNaN(until)) return invalid('until: give the time the range ends');
    if (until <= since) return invalid('until: must be after the start');
    if (until - since > MAX_RANGE_DAYS * 86_400_000) return invalid(`since: the range may span at most ${MAX_RANGE_DAYS} days`);
  }
  return undefined;
}

/**
 * What the logs show: process type, replica and text filters, and either the live tail or a time range.
 * Applying them restarts the stream; the names seen so far are offered as suggestions.
 */
export function LogFilterForm(props: {
  filters: LogFilters;
  mode: LogMode;
  processes: readonly string[];
  replicas: readonly string[];
  onApply: (filters: LogFilters, mode: LogMode) => void;
}) {
  const [draft, setDraft] = useState<LogFilters>(props.filters);
  const [range, setRange] = useState(props.mode.kind === 'range');
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 3_600_000)));
  const [until, setUntil] = useState(() => localInput(new Date()));
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const set = (key: keyof LogFilters) => (e: { currentTarget: HTMLInputElement }) =>
    setDraft((d) => ({ ...d, [key]: e.currentTarget.value }));

  return (
    <form
      class="inline logs-filters"
      aria-label="Log filters"
      onSubmit={(e) => {
        e.preventDefault();
        const filters = { process: draft.process.trim(), replica: draft.replica.trim(), text: draft.text };
        const mode: LogMode = range ? { kind: 'range', since: toIso(since), until: toIso(until) } : { kind: 'live' };
        const problem = check(filters, mode);
        setError(problem);
        if (!problem) props.onApply(filters, mode);
      }}
    >
      <Field label="Process type" name="process" error={error} hint="web, worker, release, run…">
        {(attrs) => <input {...attrs} list="logs-processes" size={10} value={draft.process} onInput={set('process')} />}
      </Field>
      <datalist id="logs-processes">
        {props.processes.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      <Field label="Replica" name="replica" error={error} hint="a container name">
        {(attrs) => <input {...attrs} list="logs-replicas" size={18} value={draft.replica} onInput={set('replica')} />}
      </Field>
      <datalist id="logs-replicas">
        {props.replicas.map((r) => (
          <option key={r} value={r} />
        ))}
      </datalist>
      <Field label="Text" name="text" error={error} hint="lines containing it (any case)">
        {(attrs) => <input {...attrs} type="search" size={16} value={draft.text} onInput={set('text')} />}
      </Field>
      <fieldset class="logs-mode">
        <legend>Show</legend>
        <label>
          <input type="radio" name="logs-mode" checked={!range} onChange={() => setRange(false)} /> Live tail
        </label>
        <label>
          <input type="radio" name="logs-mode" checked={range} onChange={() => setRange(true)} /> Time range
        </label>
      </fieldset>
      {range && (
        <>
          <Field label="From" name="since" error={error}>
            {(attrs) => <input {...attrs} type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />}
          </Field>
          <Field label="To" name="until" error={error}>
            {(attrs) => <input {...attrs} type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />}
          </Field>
        </>
      )}
      <button type="submit" class="primary">
        Apply
      </button>
      <ErrorNote error={error} fields={['process', 'replica', 'text', 'since', 'until']} />
    </form>
  );
}

/** A datetime-local value (local time) as ISO 8601, or '' when it is not one. */
function toIso(local: string): string {
  const ms = Date.parse(local);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}
