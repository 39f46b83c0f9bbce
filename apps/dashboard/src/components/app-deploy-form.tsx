import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction } from '../hooks.ts';
import type { Deployment } from '../types-app.ts';
import { StartedNotice } from './app-started.tsx';
import { ErrorNote } from './ui.tsx';

type Kind = 'default' | 'branch' | 'tag' | 'commit';

const KIND_LABEL: Record<Exclude<Kind, 'default'>, { label: string; hint: string }> = {
  branch: { label: 'Branch', hint: 'e.g. main' },
  tag: { label: 'Tag', hint: 'e.g. v1.2.0' },
  commit: { label: 'Commit', hint: 'the full 40-character SHA' },
};

/**
 * Starts a deployment of one environment (`POST …/deployments`): its own
 * branch by default, or a branch, tag or commit; then shows the deployment
 * started, linking to its page. Ids carry the environment: one form per card.
 */
export function DeployForm(props: { app: string; env: string }) {
  const { app, env } = props;
  const [kind, setKind] = useState<Kind>('default');
  const [ref, setRef] = useState('');
  const deploy = useAction((body: Record<string, string>) =>
    api<Deployment>('POST', path`/apps/${app}/environments/${env}/deployments`, body),
  );
  const id = `deploy-${env}`;
  const error = deploy.error;
  const refError = error && kind !== 'default' && error.field === kind ? error : undefined;
  const started = deploy.result;
  return (
    <form
      class="inline deploy-form"
      aria-label={`Deploy ${env}`}
      onSubmit={(e) => {
        e.preventDefault();
        void deploy.run(kind === 'default' ? {} : { [kind]: ref.trim() });
      }}
    >
      <div class="field">
        <label for={`${id}-kind`}>What to deploy</label>
        <select
          id={`${id}-kind`}
          value={kind}
          onChange={(e) => {
            setKind(e.currentTarget.value as Kind);
            deploy.reset();
          }}
        >
          <option value="default">the environment's branch</option>
          <option value="branch">a branch</option>
          <option value="tag">a tag</option>
          <option value="commit">a commit</option>
        </select>
      </div>
      {kind !== 'default' && (
        <div class={`field${refError ? ' invalid' : ''}`}>
          <label for={`${id}-ref`}>{KIND_LABEL[kind].label}</label>
          <input
            id={`${id}-ref`}
            required
            autocomplete="off"
            spellcheck={false}
            value={ref}
            onInput={(e) => setRef(e.currentTarget.value)}
            aria-invalid={Boolean(refError)}
            aria-describedby={refError ? `${id}-ref-error` : `${id}-ref-hint`}
          />
          <small id={`${id}-ref-hint`} class="hint">
            {KIND_LABEL[kind].hint}
          </small>
          {refError && (
            <p id={`${id}-ref-error`} class="field-error" role="alert">
              {refError.message.replace(/^[\w.[\]-]+:\s*/, '')}
            </p>
          )}
        </div>
      )}
      <button type="submit" class="primary" disabled={deploy.pending}>
        {deploy.pending ? 'Starting…' : `Deploy ${env}`}
      </button>
      <div class="deploy-result">
        {refError ? null : <ErrorNote error={error} />}
        {started && <StartedNotice app={app} id={started.id} text={`Deploying ${env}`} />}
      </div>
    </form>
  );
}
