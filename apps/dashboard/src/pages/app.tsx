import { path } from '../api.ts';
import { DeploymentList } from '../components/app-deployments.tsx';
import { EnvironmentCard, useStatus } from '../components/app-environment.tsx';
import { AppNav } from '../components/app-nav.tsx';
import { PromotePanel } from '../components/app-promote.tsx';
import { Loaded } from '../components/ui.tsx';
import { useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';

interface EnvironmentSummary {
  name: string;
  pullRequest: number | null;
}

/** Staging next to production, then the others by name, previews (pull requests) last. */
function ordered(environments: EnvironmentSummary[]): string[] {
  const rank = (e: EnvironmentSummary) =>
    e.name === 'staging' ? 0 : e.name === 'production' ? 1 : e.pullRequest === null ? 2 : 3;
  return [...environments].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)).map((e) => e.name);
}

/**
 * An app's overview: its environments side by side (state, crash loops, live
 * release, rollout, replicas, URL, links, a deploy form, releases with
 * rollback), what differs between staging and production with the promotion,
 * and every deployment, all kept current by the change feed.
 */
export default function AppPage(props: PageProps) {
  const app = props.params.app ?? '';
  const environments = useResource<{ environments: EnvironmentSummary[] }>(path`/apps/${app}/environments`, {
    tables: ['environments'],
    app,
  });
  const names = environments.data ? ordered(environments.data.environments) : [];
  const hasStaging = names.includes('staging');
  const hasProduction = names.includes('production');
  // Loaded here, shared by their cards and the promotion's differences.
  const staging = useStatus(app, hasStaging ? 'staging' : null);
  const production = useStatus(app, hasProduction ? 'production' : null);

  return (
    <>
      <AppNav app={app} tab="" />
      <Loaded resource={environments}>
        {() => (
          <>
            <div class="grid env-grid">
              {names.map((env) => (
                <EnvironmentCard
                  key={env}
                  app={app}
                  env={env}
                  {...(env === 'staging' ? { status: staging } : env === 'production' ? { status: production } : {})}
                />
              ))}
            </div>
            {hasStaging && hasProduction && <PromotePanel app={app} from={staging} to={production} />}
            <DeploymentList app={app} />
          </>
        )}
      </Loaded>
    </>
  );
}
