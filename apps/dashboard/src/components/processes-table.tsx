import { useEffect, useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useResource } from '../hooks.ts';
import type { EnvironmentStatus, ProcessesAnswer, ProcessView, ReplicaView } from '../types-ops.ts';
import { ErrorNote, Loaded, Notice, StateBadge, TimeAgo } from './ui.tsx';

const LIVE_TABLES = ['environment_processes', 'replicas', 'environments', 'releases', 'rollouts'] as const;

/**
 * The environment's process types (desired and running replicas, health,
 * limits, how one last ended), each scaled in place, and every replica.
 */
export function ProcessesSection(props: { app: string; env: string }) {
  const { app, env } = props;
  const processes = useResource<ProcessesAnswer>(path`/apps/${app}/environments/${env}/processes`, {
    tables: LIVE_TABLES,
    app,
  });
  const status = useResource<EnvironmentStatus>(path`/apps/${app}/environments/${env}/status`, { tables: LIVE_TABLES, app });
  return (
    <section aria-labelledby="processes-heading" class="panel">
      <h2 id="processes-heading">Processes</h2>
      <Loaded resource={processes}>
        {(data) =>
          data.release === null ? (
            <p>Nothing is deployed in {env} yet: deploy it to run its processes.</p>
          ) : (
            <>
              <p class="muted">
                Release v{data.release}
                {status.data?.rollout?.state === 'active' && <> · a rollout to v{status.data.rollout.to} is under way</>}
              </p>
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Type</th>
                      <th scope="col">Replicas wanted</th>
                      <th scope="col">Running</th>
                      <th scope="col">Health</th>
                      <th scope="col" class="hide-narrow">
                        Limits
                      </th>
                      <th scope="col" class="hide-narrow">
                        Command
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.processes.map((p) => (
                      <ProcessRow key={p.type} app={app} env={env} process={p} />
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )
        }
      </Loaded>
      <h3>Replicas</h3>
      <Loaded resource={status}>{(data) => <Replicas replicas={data.replicas} />}</Loaded>
    </section>
  );
}

function ProcessRow(props: { app: string; env: string; process: ProcessView }) {
  const { process: p } = props;
  return (
    <tr data-process={p.type}>
      <th scope="row">{p.type}</th>
      <td>
        <ScaleForm app={props.app} env={props.env} type={p.type} replicas={p.replicas} />
      </td>
      <td>
        <span data-running={p.running}>
          {p.running} of {p.replicas}
        </span>
      </td>
      <td>
        <StateBadge state={p.health} />
        {p.restartStreak > 0 && <div class="muted">{p.restartStreak} restarts in a row</div>}
        {p.lastExit && <div class="muted">last exit: {p.lastExit}</div>}
      </td>
      <td class="hide-narrow">
        {p.memoryMb} MiB, {p.cpus} CPU <span class="muted">({p.limitsSource})</span>
      </td>
      <td class="hide-narrow">
        {p.command === null ? <span class="muted">the image's command</span> : <code>{p.command}</code>}
      </td>
    </tr>
  );
}

/** The count of one type: changed and sent with "Scale"; a refusal (capacity, quota) shows under the field. */
function ScaleForm(props: { app: string; env: string; type: string; replicas: number }) {
  const [count, setCount] = useState(String(props.replicas));
  const scale = useAction((replicas: number) =>
    api<{ process: ProcessView }>('PATCH', path`/apps/${props.app}/environments/${props.env}/processes/${props.type}`, {
      replicas,
    }),
  );
  // The stored count wins when it changes elsewhere (another tab, the CLI), unless the user is editing.
  useEffect(() => setCount(String(props.replicas)), [props.replicas]);
  const id = `scale-${props.type}`;
  const fieldError = scale.error?.field === 'replicas' ? scale.error : undefined;
  return (
    <form
      class="inline scale"
      onSubmit={(e) => {
        e.preventDefault();
        void scale.run(Number(count));
      }}
    >
      <input
        id={id}
        type="number"
        min={0}
        max={100}
        step={1}
        required
        inputMode="numeric"
        aria-label={`Replicas of ${props.type}`}
        aria-invalid={Boolean(fieldError)}
        aria-describedby={fieldError ? `${id}-error` : undefined}
        value={count}
        onInput={(e) => setCount(e.currentTarget.value)}
      />
      <button type="submit" disabled={scale.pending || count === String(props.replicas)}>
        {scale.pending ? 'Scaling…' : 'Scale'}
      </button>
      {fieldError && (
        <p id={`${id}-error`} class="field-error" role="alert">
          {fieldError.message.replace(/^[\w.[\]-]+:\s*/, '')}
        </p>
      )}
      <ErrorNote error={scale.error} fields={['replicas']} />
      {scale.result && !scale.pending && String(scale.result.process.replicas) === count && (
        <Notice>
          {props.type} scaled to {scale.result.process.replicas}
        </Notice>
      )}
    </form>
  );
}

function Replicas(props: { replicas: ReplicaView[] }) {
  if (props.replicas.length === 0) return <p class="muted">No replicas.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Replica</th>
            <th scope="col">Process</th>
            <th scope="col">Release</th>
            <th scope="col">State</th>
            <th scope="col">Health</th>
            <th scope="col" class="hide-narrow">
              Started
            </th>
          </tr>
        </thead>
        <tbody>
          {props.replicas.map((r) => (
            <tr key={r.id} data-replica-process={r.process} data-replica-state={r.state}>
              <th scope="row" class="mono">
                {r.name}
              </th>
              <td>{r.process}</td>
              <td>{r.release === null ? '–' : `v${r.release}`}</td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>
                {r.healthy === null ? (
                  <span class="muted">unknown</span>
                ) : r.healthy ? (
                  <StateBadge state="healthy" />
                ) : (
                  <>
                    <StateBadge state="unhealthy" />
                    {r.unhealthySince && (
                      <div class="muted">
                        since <TimeAgo at={r.unhealthySince} />
                      </div>
                    )}
                  </>
                )}
              </td>
              <td class="hide-narrow">
                <TimeAgo at={r.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
