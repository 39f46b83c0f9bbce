import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useResource } from '../hooks.ts';
import type { Deployment, Release } from '../types-app.ts';
import { StartedNotice } from './app-started.tsx';
import { ConfirmDialog, Loaded, StateBadge, TimeAgo } from './ui.tsx';

const SHOWN = 8;

/** The short form of an image reference: `pier/web:0123456789ab…` → `pier/web:0123456`. */
export function shortImage(ref: string | null | undefined): string {
  if (!ref) return 'unknown image';
  return ref.replace(/:([0-9a-f]{7})[0-9a-f]{33}$/, ':$1');
}

/**
 * An environment's releases, newest first, each earlier one with a rollback
 * (`POST …/rollback { release }`) confirmed first; the rollback's deployment
 * is shown with a link once it is queued.
 */
export function ReleaseList(props: { app: string; env: string; live: number | null }) {
  const { app, env, live } = props;
  const releases = useResource<{ releases: Release[] }>(path`/apps/${app}/environments/${env}/releases`, {
    tables: ['releases', 'environments'],
    app,
  });
  const [target, setTarget] = useState<number | null>(null);
  const [all, setAll] = useState(false);
  const rollback = useAction((release: number) =>
    api<Deployment>('POST', path`/apps/${app}/environments/${env}/rollback`, { release }),
  );
  const done = rollback.result;
  return (
    <>
      <Loaded resource={releases}>
        {(data) =>
          data.releases.length === 0 ? (
            <p class="muted">No releases yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Releases of {env}</caption>
                <thead>
                  <tr>
                    <th scope="col">Release</th>
                    <th scope="col" class="hide-narrow">
                      Image
                    </th>
                    <th scope="col">Created</th>
                    <th scope="col">
                      <span class="visually-hidden">Action</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {(all ? data.releases : data.releases.slice(0, SHOWN)).map((r) => (
                    <tr key={r.id}>
                      <th scope="row">
                        v{r.version} {r.version === live && <StateBadge state="live" />}
                        {r.rolledBack && (
                          <div class="muted">rolled back on its own: {r.rolledBack.reason || 'no reason given'}</div>
                        )}
                      </th>
                      <td class="hide-narrow mono">{shortImage(r.image.ref)}</td>
                      <td>
                        <TimeAgo at={r.createdAt} />
                      </td>
                      <td>
                        {live !== null && r.version < live && (
                          <button
                            type="button"
                            onClick={() => {
                              rollback.reset();
                              setTarget(r.version);
                            }}
                          >
                            Roll back to v{r.version}
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {data.releases.length > SHOWN && (
                <button type="button" class="link" onClick={() => setAll(!all)} aria-expanded={all}>
                  {all ? 'Show fewer releases' : `Show all ${data.releases.length} releases`}
                </button>
              )}
            </div>
          )
        }
      </Loaded>
      {done && <StartedNotice app={app} id={done.id} text={`Rolling ${env} back to v${target}`} focus />}
      {target !== null && !done && (
        <ConfirmDialog
          open
          title={`Roll ${env} back to v${target}?`}
          confirmLabel={`Roll back to v${target}`}
          danger={env === 'production'}
          pending={rollback.pending}
          error={rollback.error}
          onConfirm={() => void rollback.run(target)}
          onCancel={() => {
            setTarget(null);
            rollback.reset();
          }}
        >
          <p>
            Release v{target} starts again next to v{live}, health-gated, without a rebuild; the traffic switches once it is
            healthy. Its variables are those it was released with.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
