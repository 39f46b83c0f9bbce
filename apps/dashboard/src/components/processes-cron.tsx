import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useResource, useTick } from '../hooks.ts';
import { type CronJobView, commandText, type RunView } from '../types-ops.ts';
import { RunsTable } from './processes-runs-table.tsx';
import { ErrorNote, Loaded, Notice, StateBadge } from './ui.tsx';

/** "in 4m", "in 2h", from now to a time to come. */
export function until(at: string, now = Date.now()): string {
  const s = Math.round((new Date(at).getTime() - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m`;
  if (s < 86_400) return `in ${Math.floor(s / 3600)}h`;
  return `in ${Math.floor(s / 86_400)}d`;
}

function NextRun(props: { at: string | null }) {
  useTick(30_000);
  if (!props.at) return <span class="muted">none</span>;
  return (
    <time dateTime={props.at} title={new Date(props.at).toLocaleString()}>
      {until(props.at)}
    </time>
  );
}

/** The environment's cron jobs: schedule, next and last run, "Run now", and each job's recent runs. */
export function CronSection(props: { app: string; env: string; onWatch: (run: string) => void }) {
  const { app, env } = props;
  const jobs = useResource<{ jobs: CronJobView[] }>(path`/apps/${app}/environments/${env}/cron`, {
    tables: ['cron_jobs', 'runs', 'releases'],
    app,
  });
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section aria-labelledby="cron-heading" class="panel">
      <h2 id="cron-heading">Cron jobs</h2>
      <Loaded resource={jobs}>
        {(data) =>
          data.jobs.length === 0 ? (
            <p class="muted">
              No cron jobs. Declare them in pier.json (<code>cron</code>) or with <code>pier cron set</code>.
            </p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Schedule</th>
                    <th scope="col">Next run</th>
                    <th scope="col">Last run</th>
                    <th scope="col" class="hide-narrow">
                      Command
                    </th>
                    <th scope="col">
                      <span class="muted">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.jobs.map((job) => (
                    <CronRow
                      key={job.name}
                      app={app}
                      env={env}
                      job={job}
                      open={open === job.name}
                      onToggle={() => setOpen(open === job.name ? null : job.name)}
                      onWatch={props.onWatch}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      {open && <CronRuns app={app} env={env} job={open} onWatch={props.onWatch} />}
    </section>
  );
}

function CronRow(props: {
  app: string;
  env: string;
  job: CronJobView;
  open: boolean;
  onToggle: () => void;
  onWatch: (run: string) => void;
}) {
  const { job } = props;
  const runNow = useAction(() =>
    api<RunView>('POST', path`/apps/${props.app}/environments/${props.env}/cron/${job.name}/run`).then((run) => {
      props.onWatch(run.id);
      return run;
    }),
  );
  const last = job.lastRun;
  return (
    <tr data-cron={job.name}>
      <th scope="row">
        {job.name}
        <div class="muted">{job.source === 'api' ? 'set through the API' : 'from pier.json'}</div>
      </th>
      <td>
        <code>{job.schedule}</code>
        {job.timeZone && <div class="muted">{job.timeZone}</div>}
        {job.problem && (
          <p class="field-error">
            <StateBadge state="failed" /> {job.problem}
          </p>
        )}
      </td>
      <td>
        <NextRun at={job.nextRunAt} />
      </td>
      <td>
        {last ? (
          <>
            <StateBadge state={last.state} />
            {last.exitCode !== null && <span class="muted"> exit {last.exitCode}</span>}
            {last.reason && <div class="muted">{last.reason}</div>}
          </>
        ) : (
          <span class="muted">never</span>
        )}
      </td>
      <td class="hide-narrow">
        <code>{commandText(job.command)}</code>
      </td>
      <td>
        <div class="actions">
          <button type="button" onClick={() => void runNow.run()} disabled={runNow.pending}>
            {runNow.pending ? 'Starting…' : `Run ${job.name} now`}
          </button>
          <button type="button" aria-expanded={props.open} onClick={props.onToggle}>
            {props.open ? 'Hide runs' : 'Recent runs'}
          </button>
        </div>
        <ErrorNote error={runNow.error} />
        {runNow.result && <Notice>Run queued: its output shows below.</Notice>}
      </td>
    </tr>
  );
}

function CronRuns(props: { app: string; env: string; job: string; onWatch: (run: string) => void }) {
  const runs = useResource<{ runs: RunView[] }>(
    path`/apps/${props.app}/environments/${props.env}/cron/${props.job}/runs?limit=20`,
    {
      tables: ['runs'],
      app: props.app,
    },
  );
  return (
    <div class="cron-runs">
      <h3>Recent runs of {props.job}</h3>
      <Loaded resource={runs}>
        {(data) =>
          data.runs.length === 0 ? (
            <p class="muted">No runs yet.</p>
          ) : (
            <RunsTable
              app={props.app}
              env={props.env}
              runs={data.runs}
              onWatch={props.onWatch}
              caption={`Runs of ${props.job}`}
            />
          )
        }
      </Loaded>
    </div>
  );
}
