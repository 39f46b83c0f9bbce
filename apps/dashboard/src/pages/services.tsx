import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorNote, Field, Loaded, Notice, StateBadge, TimeAgo } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import { href } from '../router.ts';
import { currentSession } from '../session.ts';
import type { ManagedService, ServiceType } from '../types-config.ts';

const SERVICE_TABLES = ['managed_services', 'service_links', 'service_operations', 'service_backups'] as const;

/** Managed Postgres and Redis (admin): each service's state and links; create one. */
export default function ServicesPage() {
  if (currentSession()?.role !== 'admin') {
    return (
      <>
        <h1>Services</h1>
        <p>Managed services are shown to admins only: they hold every app's data.</p>
      </>
    );
  }
  return <ServiceList />;
}

function ServiceList() {
  const services = useResource<{ services: ManagedService[] }>('/services', { tables: SERVICE_TABLES });
  return (
    <>
      <h1>Services</h1>
      <CreateService />
      <Loaded resource={services}>
        {(data) =>
          data.services.length === 0 ? (
            <p>No managed services yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="muted">
                  {data.services.length} service{data.services.length === 1 ? '' : 's'}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Linked to</th>
                    <th scope="col" class="hide-narrow">
                      Created
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.services.map((s) => (
                    <tr key={s.id}>
                      <th scope="row">
                        <a href={href('services', s.name)}>{s.name}</a>
                      </th>
                      <td>
                        {s.type} {s.version}
                      </td>
                      <td>
                        <StateBadge state={s.state} />
                        {s.lastError && <div class="muted">{s.lastError}</div>}
                      </td>
                      <td>
                        {(s.linkedTo ?? []).length === 0 ? (
                          <span class="muted">nothing</span>
                        ) : (
                          <ul class="plain-list">
                            {(s.linkedTo ?? []).map((target) => {
                              const [app = '', env = ''] = target.split('/');
                              return (
                                <li key={target}>
                                  <a href={href('apps', app, 'variables', env)}>{target}</a>
                                </li>
                              );
                            })}
                          </ul>
                        )}
                      </td>
                      <td class="hide-narrow">
                        <TimeAgo at={s.createdAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </>
  );
}

function CreateService() {
  const [type, setType] = useState<ServiceType>('postgres');
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const create = useAction((body: { type: ServiceType; name: string; version?: string }) =>
    api<ManagedService>('POST', '/services', body),
  );
  return (
    <details class="panel" open>
      <summary>Create a service</summary>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const body = { type, name: name.trim(), ...(version.trim() ? { version: version.trim() } : {}) };
          void create.run(body).then((created) => {
            if (!created) return;
            setName('');
            setVersion('');
          });
        }}
      >
        <Field label="Type" name="type" error={create.error}>
          {(attrs) => (
            <select {...attrs} value={type} onChange={(e) => setType(e.currentTarget.value as ServiceType)}>
              <option value="postgres">Postgres</option>
              <option value="redis">Redis</option>
            </select>
          )}
        </Field>
        <Field label="Name" name="name" error={create.error} hint="lowercase letters, digits and dashes">
          {(attrs) => (
            <input {...attrs} required autocomplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="Version (optional)" name="version" error={create.error} hint="e.g. 16; default: the configured image's">
          {(attrs) => <input {...attrs} autocomplete="off" value={version} onInput={(e) => setVersion(e.currentTarget.value)} />}
        </Field>
        <button type="submit" class="primary" disabled={create.pending}>
          {create.pending ? 'Creating…' : 'Create'}
        </button>
      </form>
      <ErrorNote error={create.error} fields={['type', 'name', 'version']} />
      {create.result && (
        <Notice>
          Creating <a href={href('services', create.result.name)}>{create.result.name}</a> ({create.result.type}{' '}
          {create.result.version}): it is listed as provisioning until its container is ready.
        </Notice>
      )}
    </details>
  );
}
