import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useConfirmed, useResource } from '../hooks.ts';
import { href } from '../router.ts';
import type { ManagedService, StartedDeployment } from '../types-config.ts';
import { ConfirmDialog, ErrorNote, Field, Notice } from './ui.tsx';

interface LinkResult {
  app: string;
  env: string;
  linked: boolean;
  variables: string[];
  deployment: StartedDeployment | null;
}

/** Which environments the service is linked to; link it to another, unlink (confirmed). Each redeploys that environment. */
export function LinksPanel(props: { service: ManagedService }) {
  const { service } = props;
  const linked = service.linkedTo ?? [];
  const [result, setResult] = useState<LinkResult | null>(null);
  const unlink = useConfirmed(async (target: string): Promise<LinkResult> => {
    const [app = '', env = ''] = target.split('/');
    const answer = await api<{ deployment: StartedDeployment | null }>(
      'DELETE',
      path`/apps/${app}/environments/${env}/links/${service.name}`,
    );
    return { app, env, linked: false, variables: [], deployment: answer.deployment };
  }, setResult);

  return (
    <section class="panel" aria-labelledby="service-links">
      <h2 id="service-links">Linked environments</h2>
      {linked.length === 0 ? (
        <p class="muted">Not linked to any environment.</p>
      ) : (
        <ul class="plain-list">
          {linked.map((target) => {
            const [app = '', env = ''] = target.split('/');
            return (
              <li key={target} class="actions">
                <a href={href('apps', app, 'variables', env)}>{target}</a>
                <button type="button" aria-label={`Unlink ${target}`} onClick={() => unlink.ask(target)}>
                  Unlink
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {result && <LinkNotice result={result} service={service.name} />}
      <LinkForm service={service} onLinked={setResult} />
      <ConfirmDialog
        {...unlink.dialog}
        title={`Unlink ${service.name} from ${unlink.subject ?? ''}?`}
        confirmLabel="Unlink"
        danger
      >
        <p>Its variables are removed from that environment, which is redeployed without them. The data stays.</p>
      </ConfirmDialog>
    </section>
  );
}

function LinkNotice(props: { result: LinkResult; service: string }) {
  const { result } = props;
  const where = `${result.app}/${result.env}`;
  return (
    <Notice>
      {result.linked
        ? `Linked ${props.service} to ${where}: ${result.variables.join(', ')} injected. `
        : `Unlinked ${props.service} from ${where}. `}
      {result.deployment ? (
        <>
          The environment redeploys:{' '}
          <a href={href('apps', result.app, 'deployments', result.deployment.id)}>
            deployment {result.deployment.id.slice(0, 8)}
          </a>
          .
        </>
      ) : (
        'It applies from its next deployment.'
      )}
    </Notice>
  );
}

function LinkForm(props: { service: ManagedService; onLinked: (result: LinkResult) => void }) {
  const { service } = props;
  const apps = useResource<{ apps: { name: string }[] }>('/apps', { tables: ['apps'] });
  const [app, setApp] = useState('');
  const chosenApp = app || apps.data?.apps[0]?.name || '';
  const environments = useResource<{ environments: { name: string }[] }>(
    chosenApp ? path`/apps/${chosenApp}/environments` : null,
    { tables: ['environments'], app: chosenApp },
  );
  const [env, setEnv] = useState('');
  const names = environments.data?.environments.map((e) => e.name) ?? [];
  const chosenEnv = names.includes(env) ? env : names.includes('staging') ? 'staging' : (names[0] ?? '');
  const link = useAction(async (target: { app: string; env: string }) => {
    const answer = await api<{ variables: string[]; deployment: StartedDeployment | null }>(
      'POST',
      path`/apps/${target.app}/environments/${target.env}/links`,
      { service: service.name },
    );
    const result = { ...target, linked: true, variables: answer.variables, deployment: answer.deployment };
    props.onLinked(result);
    return result;
  });

  if (apps.data && apps.data.apps.length === 0) return <p class="muted">No apps to link it to yet.</p>;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        void link.run({ app: chosenApp, env: chosenEnv });
      }}
    >
      <Field label="App" name="link-app" error={link.error}>
        {(attrs) => (
          <select {...attrs} value={chosenApp} onChange={(e) => setApp(e.currentTarget.value)}>
            {(apps.data?.apps ?? []).map((a) => (
              <option key={a.name} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Environment" name="link-env" error={link.error}>
        {(attrs) => (
          <select {...attrs} value={chosenEnv} onChange={(e) => setEnv(e.currentTarget.value)}>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <button type="submit" class="primary" disabled={link.pending || !chosenApp || !chosenEnv || service.state !== 'ready'}>
        {link.pending ? 'Linking…' : 'Link'}
      </button>
      {service.state !== 'ready' && <span class="muted">It can be linked once it is ready.</span>}
      <ErrorNote error={link.error} />
    </form>
  );
}
