import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useResource } from '../hooks.ts';
import type { RunView } from '../types-ops.ts';
import { RunOutput } from './processes-output.tsx';
import { RunsTable } from './processes-runs-table.tsx';
import { ErrorNote, Field, Loaded } from './ui.tsx';

/** One-off commands: start one, watch a run's output live, the environment's recent runs (one-off and cron). */
export function RunsSection(props: { app: string; env: string; watched: string | null; onWatch: (run: string) => void }) {
  const { app, env } = props;
  const runs = useResource<{ runs: RunView[] }>(path`/apps/${app}/environments/${env}/runs?limit=20`, {
    tables: ['runs'],
    app,
  });
  const [command, setCommand] = useState('');
  const start = useAction((body: { command: string; timeoutSeconds?: number }) =>
    api<RunView>('POST', path`/apps/${app}/environments/${env}/runs`, body),
  );
  const [timeout, setTimeoutSeconds] = useState('');
  return (
    <section aria-labelledby="runs-heading" class="panel">
      <h2 id="runs-heading">One-off runs</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const seconds = timeout.trim() === '' ? undefined : Number(timeout);
          void start.run({ command, ...(seconds === undefined ? {} : { timeoutSeconds: seconds }) }).then((run) => {
            if (run) props.onWatch(run.id);
          });
        }}
      >
        <Field label="Command" name="command" error={start.error} hint="run by /bin/sh -c in a new container of the live release">
          {(attrs) => (
            <input
              {...attrs}
              class="mono run-command"
              required
              autocomplete="off"
              spellcheck={false}
              value={command}
              onInput={(e) => setCommand(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Time limit (seconds)" name="timeoutSeconds" error={start.error} hint="default 600">
          {(attrs) => (
            <input
              {...attrs}
              type="number"
              min={1}
              max={86400}
              inputMode="numeric"
              value={timeout}
              onInput={(e) => setTimeoutSeconds(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="primary" disabled={start.pending}>
          {start.pending ? 'Starting…' : 'Start run'}
        </button>
      </form>
      <ErrorNote error={start.error} fields={['command', 'timeoutSeconds']} />
      {props.watched && (
        <>
          <h3>Output</h3>
          <RunOutput app={app} env={env} run={props.watched} />
        </>
      )}
      <h3>Recent runs</h3>
      <Loaded resource={runs}>
        {(data) =>
          data.runs.length === 0 ? (
            <p class="muted">No runs yet.</p>
          ) : (
            <RunsTable
              app={app}
              env={env}
              runs={data.runs}
              caption={`Newest runs of ${env} (${data.runs.length})`}
              watched={props.watched}
              onWatch={props.onWatch}
            />
          )
        }
      </Loaded>
    </section>
  );
}
