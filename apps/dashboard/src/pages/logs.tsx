import { useMemo, useState } from 'preact/hooks';
import { AppNav } from '../components/app-nav.tsx';
import { LogFilterForm } from '../components/logs-filters.tsx';
import { type LogFilters, type LogMode, MAX_LINES, type StreamStatus, useLogLines } from '../components/logs-stream.tsx';
import { LogBox } from '../components/logs-view.tsx';
import { ErrorNote } from '../components/ui.tsx';
import type { PageProps } from '../page.ts';

const STATUS_TEXT: Record<StreamStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live: new lines appear as they are written',
  reconnecting: 'Connection lost, reconnecting…',
  paused: 'Paused',
  stopped: 'Stopped',
  loading: 'Loading…',
  range: 'Showing a time range (not following)',
};

const NO_FILTERS: LogFilters = { process: '', replica: '', text: '' };

/** An environment's logs: the live tail (pausable), filters that restart it, a time range, and earlier lines on demand. */
export default function LogsPage(props: PageProps) {
  const app = props.params.app as string;
  const env = props.params.env as string;
  const [filters, setFilters] = useState<LogFilters>(NO_FILTERS);
  const [mode, setMode] = useState<LogMode>({ kind: 'live' });
  const logs = useLogLines(app, env, filters, mode);
  const processes = useMemo(() => [...new Set(logs.lines.map((l) => l.process))].sort(), [logs.lines]);
  const replicas = useMemo(() => [...new Set(logs.lines.map((l) => l.replica))].sort(), [logs.lines]);
  const following = logs.status === 'live' || logs.status === 'connecting' || logs.status === 'reconnecting';
  const filtered = [
    filters.process && `process ${filters.process}`,
    filters.replica && `replica ${filters.replica}`,
    filters.text && `“${filters.text}”`,
  ]
    .filter(Boolean)
    .join(', ');

  return (
    <>
      <AppNav app={app} tab="logs" env={env} />
      <h2>Logs of {env}</h2>
      <LogFilterForm
        key={`${app}/${env}`}
        filters={filters}
        mode={mode}
        processes={processes}
        replicas={replicas}
        onApply={(f, m) => {
          setFilters(f);
          setMode(m);
        }}
      />
      <div class="actions logs-bar">
        {mode.kind === 'live' &&
          (following ? (
            <button type="button" onClick={logs.pause}>
              Pause
            </button>
          ) : (
            <button type="button" class="primary" onClick={logs.resume}>
              Resume
            </button>
          ))}
        {logs.earlierAvailable ? (
          <button type="button" onClick={logs.loadEarlier} disabled={logs.earlierPending}>
            {logs.earlierPending ? 'Loading…' : 'Load earlier lines'}
          </button>
        ) : (
          <span class="muted">Start of the stored lines</span>
        )}
        <span role="status" class="logs-status">
          {STATUS_TEXT[logs.status]}
          {filtered && ` · filtered by ${filtered}`}
        </span>
        <span class="muted">
          {logs.lines.length} {logs.lines.length === 1 ? 'line' : 'lines'}
          {logs.lines.length >= MAX_LINES && ` (the last ${MAX_LINES} are kept)`}
        </span>
      </div>
      <ErrorNote error={logs.error} />
      <LogBox lines={logs.lines} app={app} env={env} label={`Log lines of ${app} ${env}`} />
    </>
  );
}
