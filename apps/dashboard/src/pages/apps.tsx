import { useMemo, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNote, Field, Loaded, StateBadge, TimeAgo } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import { currentSession } from '../session.ts';
import type { OverviewApp, OverviewEnvironment } from '../types.ts';

/** Every app at a glance: each environment's state, live release, last deploy and URL; search; create (admin). */
export default function AppsPage() {
  const overview = useResource<{ apps: OverviewApp[] }>('/overview', {
    // Not `replicas`: the overview is not made of replica rows, and each health flip of any app would reload it.
    tables: ['apps', 'environments', 'deployments', 'releases'],
  });
  const [search, setSearch] = useState('');
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const apps = overview.data?.apps ?? [];
    return needle === ''
      ? apps
      : apps.filter((a) => a.name.includes(needle) || (a.repository ?? '').toLowerCase().includes(needle));
  }, [overview.data, search]);

  return (
    <>
      <h1>Apps</h1>
      {currentSession()?.role === 'admin' && <CreateApp />}
      <div class="search">
        <label for="app-search">Search apps </label>
        <input
          id="app-search"
          type="search"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
          placeholder="name or repository"
        />
      </div>
      <Loaded resource={overview}>
        {(data) =>
          data.apps.length === 0 ? (
            <p>No apps yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="muted" aria-live="polite">
                  {shown.length === data.apps.length ? `${data.apps.length} apps` : `${shown.length} of ${data.apps.length} apps`}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">App</th>
                    <th scope="col">Environment</th>
                    <th scope="col">State</th>
                    <th scope="col">Live release</th>
                    <th scope="col">Last deploy</th>
                    <th scope="col" class="hide-narrow">
                      URL
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {shown.flatMap((app) =>
                    app.environments.map((env, i) => <Row key={`${app.name}/${env.name}`} app={app} env={env} first={i === 0} />),
                  )}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </>
  );
}

function Row(props: { app: OverviewApp; env: OverviewEnvironment; first: boolean }) {
  const { app, env } = props;
  const last = env.lastDeployment;
  return (
    <tr data-app={app.name} data-env={env.name}>
      {props.first ? (
        <th scope="rowgroup" rowSpan={app.environments.length}>
          <a href={href('apps', app.name)}>{app.name}</a>
          {app.repository && <div class="muted mono">{app.repository}</div>}
        </th>
      ) : null}
      <td>{env.pullRequest !== null ? `${env.name} (PR #${env.pullRequest})` : env.name}</td>
      <td>
        <StateBadge state={env.state} />
      </td>
      <td>{env.liveRelease ? `v${env.liveRelease.version}` : <span class="muted">none</span>}</td>
      <td>
        {last ? (
          <>
            <a href={href('apps', app.name, 'deployments', last.id)}>{last.state.replace(/_/g, ' ')}</a>{' '}
            <TimeAgo at={last.finishedAt ?? last.at} />
          </>
        ) : (
          <span class="muted">never</span>
        )}
      </td>
      <td class="hide-narrow">
        {env.liveRelease ? (
          <a href={env.url} rel="noreferrer" target="_blank">
            {env.url.replace(/^https:\/\//, '')}
          </a>
        ) : (
          <span class="muted">{env.url.replace(/^https:\/\//, '')}</span>
        )}
      </td>
    </tr>
  );
}

function CreateApp() {
  const [name, setName] = useState('');
  const [repository, setRepository] = useState('');
  const [cloneUrl, setCloneUrl] = useState('');
  const create = useAction((body: { name: string; repository?: { fullName: string; cloneUrl: string } }) =>
    api('POST', '/apps', body),
  );
  return (
    <details class="panel">
      <summary>Create an app</summary>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const fullName = repository.trim();
          const repo = fullName ? { fullName, cloneUrl: cloneUrl.trim() || `https://github.com/${fullName}.git` } : undefined;
          const body = { name: name.trim(), ...(repo ? { repository: repo } : {}) };
          void create.run(body).then((created) => {
            if (created) navigate(href('apps', body.name));
          });
        }}
      >
        <Field label="Name" name="name" error={create.error} hint="lowercase letters, digits and dashes">
          {(attrs) => <input {...attrs} required value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label="GitHub repository (optional)" name="fullName" error={create.error} hint="owner/name">
          {(attrs) => <input {...attrs} value={repository} onInput={(e) => setRepository(e.currentTarget.value)} />}
        </Field>
        <Field
          label="Clone URL (optional)"
          name="cloneUrl"
          error={create.error}
          hint="default: https://github.com/owner/name.git"
        >
          {(attrs) => <input {...attrs} value={cloneUrl} onInput={(e) => setCloneUrl(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary" disabled={create.pending}>
          {create.pending ? 'Creating…' : 'Create'}
        </button>
      </form>
      <ErrorNote error={create.error} fields={['name', 'fullName', 'cloneUrl']} />
    </details>
  );
}
