import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useConfirmed, useResource } from '../hooks.ts';
import type { TokenView } from '../types-ops.ts';
import { ShowOnce } from './settings-secret.tsx';
import { ConfirmDialog, ErrorNote, Field, Loaded, Notice, TimeAgo } from './ui.tsx';

/**
 * API tokens (admin only): the live ones with the app they are confined to
 * and when each was last used, a new one (its value shown once), revoking.
 * Tokens have no table in the change feed: the list loads again after each change here.
 */
export function TokensSection() {
  const tokens = useResource<{ tokens: TokenView[] }>('/tokens');
  const revoke = useConfirmed((token: TokenView) => api('DELETE', path`/tokens/${token.id}`), tokens.reload);
  return (
    <section aria-labelledby="tokens-heading" class="panel">
      <h2 id="tokens-heading">API tokens</h2>
      <CreateToken onCreated={tokens.reload} />
      {revoke.done && <Notice>Token {revoke.done.name} revoked: it no longer signs in or calls the API.</Notice>}
      <Loaded resource={tokens}>
        {(data) =>
          data.tokens.length === 0 ? (
            <p class="muted">No tokens besides the configuration's admin token.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="muted">{data.tokens.length === 1 ? '1 live token' : `${data.tokens.length} live tokens`}</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">App</th>
                    <th scope="col" class="hide-narrow">
                      Created
                    </th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span class="muted">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.tokens.map((t) => (
                    <tr key={t.id} data-token={t.name}>
                      <th scope="row">{t.name}</th>
                      <td class="mono">{t.displayPrefix}…</td>
                      <td>{t.app ?? <span class="muted">every app (admin)</span>}</td>
                      <td class="hide-narrow">
                        <TimeAgo at={t.createdAt} />
                      </td>
                      <td>
                        <TimeAgo at={t.lastUsedAt} />
                      </td>
                      <td>
                        <button type="button" class="danger" aria-label={`Revoke ${t.name}`} onClick={() => revoke.ask(t)}>
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <ConfirmDialog {...revoke.dialog} title={`Revoke the token ${revoke.subject?.name ?? ''}?`} confirmLabel="Revoke" danger>
        <p>
          Everything that uses it (the CLI, CI jobs, dashboard sessions signed in with it) is refused from now on. This cannot be
          undone.
        </p>
      </ConfirmDialog>
    </section>
  );
}

function CreateToken(props: { onCreated: () => void }) {
  const apps = useResource<{ apps: { name: string }[] }>('/apps', { tables: ['apps'] });
  const [name, setName] = useState('');
  const [app, setApp] = useState('');
  const create = useAction((body: { name: string; app?: string }) => api<TokenView & { token: string }>('POST', '/tokens', body));
  const created = create.result;
  return (
    <>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run({ name: name.trim(), ...(app ? { app } : {}) }).then((token) => {
            if (!token) return;
            setName('');
            props.onCreated();
          });
        }}
      >
        <Field label="Token name" name="name" error={create.error} hint="e.g. ci-deploy">
          {(attrs) => <input {...attrs} required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Field label="Confined to app" name="app" error={create.error}>
          {(attrs) => (
            <select {...attrs} value={app} onChange={(e) => setApp(e.currentTarget.value)}>
              <option value="">none: an admin token</option>
              {apps.data?.apps.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" class="primary" disabled={create.pending}>
          {create.pending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      <ErrorNote error={create.error} fields={['name', 'app']} />
      {created && (
        <ShowOnce
          label={`New token ${created.name}${created.app ? ` (app ${created.app})` : ' (admin)'}`}
          value={created.token}
          what="this token"
          onDone={create.reset}
        />
      )}
    </>
  );
}
