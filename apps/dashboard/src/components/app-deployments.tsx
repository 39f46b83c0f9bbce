import { useState } from 'preact/hooks';
import { path } from '../api.ts';
import { useResource } from '../hooks.ts';
import { href } from '../router.ts';
import type { Deployment } from '../types-app.ts';
import { Loaded, StateBadge, TimeAgo } from './ui.tsx';

const SHOWN = 15;

/** `refs/heads/main` → `main`, `refs/tags/v1` → `tag v1`, else the commit's first 7 characters. */
export function refText(d: Pick<Deployment, 'ref' | 'commit' | 'prebuiltImage'>): string {
  const ref = d.ref?.startsWith('refs/heads/')
    ? d.ref.slice('refs/heads/'.length)
    : d.ref?.startsWith('refs/tags/')
      ? `tag ${d.ref.slice('refs/tags/'.length)}`
      : d.ref;
  const commit = d.commit ? d.commit.slice(0, 7) : null;
  if (ref && commit) return `${ref} @ ${commit}`;
  return ref ?? commit ?? d.prebuiltImage ?? '—';
}

/** Every deployment of the app, newest first, live: state, environment, trigger, ref, age, each linking to its page. */
export function DeploymentList(props: { app: string }) {
  const { app } = props;
  const deployments = useResource<{ deployments: Deployment[] }>(path`/apps/${app}/deployments`, {
    tables: ['deployments', 'releases', 'rollouts'],
    app,
  });
  const [all, setAll] = useState(false);
  return (
    <section aria-labelledby="deployments-title">
      <h2 id="deployments-title">Deployments</h2>
      <Loaded resource={deployments}>
        {(data) =>
          data.deployments.length === 0 ? (
            <p class="muted">No deployments yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Deployment</th>
                    <th scope="col">Environment</th>
                    <th scope="col">State</th>
                    <th scope="col" class="hide-narrow">
                      Trigger
                    </th>
                    <th scope="col" class="hide-narrow">
                      Ref
                    </th>
                    <th scope="col">Queued</th>
                  </tr>
                </thead>
                <tbody>
                  {(all ? data.deployments : data.deployments.slice(0, SHOWN)).map((d) => (
                    <tr key={d.id} data-deployment={d.id}>
                      <th scope="row">
                        <a href={href('apps', app, 'deployments', d.id)} class="mono">
                          {d.id.slice(0, 8)}
                        </a>
                      </th>
                      <td>{d.environment}</td>
                      <td>
                        <StateBadge state={d.state} />
                      </td>
                      <td class="hide-narrow">{d.trigger}</td>
                      <td class="hide-narrow mono">{refText(d)}</td>
                      <td>
                        <TimeAgo at={d.queuedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.deployments.length > SHOWN && (
                <button type="button" class="link" onClick={() => setAll(!all)} aria-expanded={all}>
                  {all ? 'Show fewer deployments' : `Show all ${data.deployments.length} deployments`}
                </button>
              )}
            </div>
          )
        }
      </Loaded>
    </section>
  );
}
