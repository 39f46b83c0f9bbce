import { useState } from 'preact/hooks';
import { path } from '../api.ts';
import { AppNav } from '../components/app-nav.tsx';
import { Loaded } from '../components/ui.tsx';
import { AddVariable, ChangeNotice } from '../components/variables-change.tsx';
import { ImportVariables } from '../components/variables-import.tsx';
import { InjectedTable, VariablesTable } from '../components/variables-table.tsx';
import { useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import type { ServiceLink, Variable, VariableChange } from '../types-config.ts';

/**
 * An environment's variables (the dashboard where staging and production are set): names with values
 * hidden until revealed one by one; add, edit, remove, paste a .env; the variables linked services inject,
 * read-only. Each change can redeploy the running release, linked here.
 */
export default function VariablesPage(props: PageProps) {
  const app = props.params.app as string;
  const env = props.params.env as string;
  return (
    <>
      <AppNav app={app} tab="variables" env={env} />
      {/* Keyed: nothing revealed or typed in one environment is carried to another. */}
      <EnvironmentVariables key={`${app}/${env}`} app={app} env={env} />
    </>
  );
}

function EnvironmentVariables(props: { app: string; env: string }) {
  const { app, env } = props;
  const variables = useResource<{ variables: Variable[] }>(path`/apps/${app}/environments/${env}/variables`, {
    tables: ['variables'],
    app,
  });
  const links = useResource<{ links: ServiceLink[] }>(path`/apps/${app}/environments/${env}/links`, {
    tables: ['service_links', 'managed_services'],
    app,
  });
  const [redeploy, setRedeploy] = useState(true);
  const [lastChange, setLastChange] = useState<VariableChange | null>(null);
  const target = { app, env, redeploy };
  const done = (change: VariableChange) => {
    setLastChange(change);
    variables.reload();
  };

  return (
    <>
      <h2>Variables of {env}</h2>
      <div class="field variables-redeploy">
        <label>
          <input type="checkbox" checked={redeploy} onChange={(e) => setRedeploy(e.currentTarget.checked)} /> Redeploy the running
          release after each change
        </label>
      </div>
      {lastChange && <ChangeNotice app={app} env={env} change={lastChange} />}
      <Loaded resource={variables}>
        {(data) => <VariablesTable target={target} variables={data.variables} onDone={done} />}
      </Loaded>
      <AddVariable target={target} onDone={done} />
      <ImportVariables target={target} onDone={done} />
      <section aria-labelledby="injected-variables">
        <h2 id="injected-variables">Injected by linked services</h2>
        <Loaded resource={links}>{(data) => <InjectedTable links={data.links} />}</Loaded>
      </section>
    </>
  );
}
