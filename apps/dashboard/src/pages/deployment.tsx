import { api, path } from '../api.ts';
import { refText } from '../components/app-deployments.tsx';
import { AppNav } from '../components/app-nav.tsx';
import { DeploymentLog } from '../components/deployment-log.tsx';
import { ErrorNote, Loaded, Notice, StateBadge, TimeAgo } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import { href } from '../router.ts';
import { type Deployment, type DeploymentEvent, TERMINAL_STATES } from '../types-app.ts';

/**
 * One deployment: its state (live as it changes), trigger, ref and commit,
 * times, why it failed, its steps, a Cancel button while it runs, and its
 * build output streaming live.
 */
export default function DeploymentPage(props: PageProps) {
  const app = props.params.app ?? '';
  const id = props.params.id ?? '';
  const deployment = useResource<Deployment>(path`/deployments/${id}`, { tables: ['deployments', 'rollouts'], app });
  const d = deployment.data;
  const terminal = d ? TERMINAL_STATES.includes(d.state) : false;

  return (
    <>
      <AppNav app={app} tab="" />
      <h2 class="deployment-title">
        Deployment <span class="mono">{id.slice(0, 8)}</span>
        {d && (
          <span aria-live="polite">
            {' '}
            <StateBadge state={d.state} />
          </span>
        )}
      </h2>
      <Loaded resource={deployment}>
        {(data) => (
          <>
            <Facts deployment={data} />
            {!terminal && <CancelDeployment deployment={data} />}
            <Steps events={data.events ?? []} />
          </>
        )}
      </Loaded>
      {d && <h3>Output</h3>}
      {id && <DeploymentLog id={id} terminal={terminal} changed={d ? `${d.state}:${d.events?.length ?? 0}` : ''} />}
    </>
  );
}

/** Why it ended as it did: its reason, else (superseded) the last step's message. */
function reasonOf(d: Deployment): string | null {
  if (d.reason) return d.reason;
  if (d.state === 'live' || !TERMINAL_STATES.includes(d.state)) return null;
  return d.events?.at(-1)?.message ?? null;
}

function Facts(props: { deployment: Deployment }) {
  const d = props.deployment;
  const reason = reasonOf(d);
  return (
    <>
      {reason && (
        <div class="error-note deployment-reason">
          <strong>{d.state === 'failed' ? 'Why it failed' : `Why it was ${d.state.replace(/_/g, ' ')}`}:</strong>
          <pre>{reason}</pre>
        </div>
      )}
      <dl class="env-facts deployment-facts">
        <dt>Environment</dt>
        <dd>
          <a href={href('apps', d.app)}>{d.environment}</a>
        </dd>
        <dt>Trigger</dt>
        <dd>{d.trigger}</dd>
        <dt>Ref</dt>
        <dd class="mono">{refText({ ...d, commit: null })}</dd>
        <dt>Commit</dt>
        <dd class="mono">
          {d.commit ?? <span class="muted">{TERMINAL_STATES.includes(d.state) ? 'none' : 'not known yet'}</span>}
        </dd>
        {(d.image?.tag || d.prebuiltImage) && (
          <>
            <dt>Image</dt>
            <dd class="mono">{d.prebuiltImage ?? d.image?.tag}</dd>
          </>
        )}
        <dt>Queued</dt>
        <dd>
          <TimeAgo at={d.queuedAt} />
        </dd>
        <dt>Build started</dt>
        <dd>{d.buildStartedAt ? <TimeAgo at={d.buildStartedAt} /> : <span class="muted">—</span>}</dd>
        <dt>Build finished</dt>
        <dd>{d.buildFinishedAt ? <TimeAgo at={d.buildFinishedAt} /> : <span class="muted">—</span>}</dd>
        <dt>Finished</dt>
        <dd>{d.finishedAt ? <TimeAgo at={d.finishedAt} /> : <span class="muted">—</span>}</dd>
      </dl>
    </>
  );
}

function CancelDeployment(props: { deployment: Deployment }) {
  const d = props.deployment;
  const cancel = useAction(() => api<Deployment>('POST', path`/deployments/${d.id}/cancel`));
  const requested = d.cancelRequested || cancel.result !== undefined;
  return (
    <div class="actions">
      <button type="button" class="danger" disabled={cancel.pending || requested} onClick={() => void cancel.run()}>
        {cancel.pending ? 'Cancelling…' : 'Cancel deployment'}
      </button>
      {requested && <Notice>Cancellation requested: the deployment stops at its next step.</Notice>}
      <ErrorNote error={cancel.error} />
    </div>
  );
}

/** `building → deploying: built …`: each state change with its message. */
function Steps(props: { events: DeploymentEvent[] }) {
  if (props.events.length === 0) return null;
  return (
    <>
      <h3>Steps</h3>
      <ol class="deployment-steps">
        {props.events.map((e, i) => {
          const [first, ...rest] = (e.message ?? '').split('\n');
          return (
            <li key={`${e.at}-${i}`}>
              <TimeAgo at={e.at} /> {e.from ? `${e.from.replace(/_/g, ' ')} → ` : ''}
              <strong>{e.to.replace(/_/g, ' ')}</strong>
              {first && `: ${first}`}
              {rest.join('').trim() && (
                <details>
                  <summary>more</summary>
                  <pre>{rest.join('\n')}</pre>
                </details>
              )}
            </li>
          );
        })}
      </ol>
    </>
  );
}
