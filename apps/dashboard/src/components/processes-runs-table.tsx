import { api, path } from '../api.ts';
import { useConfirmed } from '../hooks.ts';
import { commandText, type RunView, runEnded } from '../types-ops.ts';
import { ConfirmDialog, Notice, StateBadge, TimeAgo } from './ui.tsx';

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
}

/** Runs (one-off or cron) with their state, exit code and duration; each one's output is shown on request, a running one may be cancelled. */
export function RunsTable(props: {
  app: string;
  env: string;
  runs: RunView[];
  caption: string;
  watched?: string | null;
  onWatch: (run: string) => void;
}) {
  const cancel = useConfirmed((run: RunView) =>
    api<RunView>('POST', path`/apps/${props.app}/environments/${props.env}/runs/${run.id}/cancel`),
  );
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="muted">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">Command</th>
              <th scope="col">State</th>
              <th scope="col" class="hide-narrow">
                Started by
              </th>
              <th scope="col">When</th>
              <th scope="col" class="hide-narrow num">
                Took
              </th>
              <th scope="col">
                <span class="muted">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.runs.map((run) => (
              <tr key={run.id} data-run={run.id} aria-current={props.watched === run.id ? 'true' : undefined}>
                <th scope="row">
                  <code>{commandText(run.command)}</code>
                  <div class="muted">
                    {run.kind === 'cron' ? `cron ${run.cron ?? ''}` : 'one-off'}
                    {run.release !== null && ` · v${run.release}`}
                  </div>
                </th>
                <td>
                  <StateBadge state={run.state} />
                  {run.exitCode !== null && <span class="muted"> exit {run.exitCode}</span>}
                  {run.reason && <div class="muted">{run.reason}</div>}
                </td>
                <td class="hide-narrow">{run.startedBy}</td>
                <td>
                  <TimeAgo at={run.createdAt} />
                </td>
                <td class="hide-narrow num">{duration(run.durationMs)}</td>
                <td>
                  <div class="actions">
                    <button type="button" onClick={() => props.onWatch(run.id)} disabled={props.watched === run.id}>
                      {props.watched === run.id ? 'Shown below' : 'Output'}
                    </button>
                    {!runEnded(run.state) && (
                      <button type="button" class="danger" onClick={() => cancel.ask(run)}>
                        Cancel
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cancel.action.result && <Notice>Cancel requested: the run stops shortly.</Notice>}
      <ConfirmDialog {...cancel.dialog} title="Cancel this run?" confirmLabel="Cancel the run" danger>
        <p>
          <code>{cancel.subject ? commandText(cancel.subject.command) : ''}</code> is stopped (SIGTERM, then SIGKILL); its output
          so far is kept.
        </p>
      </ConfirmDialog>
    </>
  );
}
