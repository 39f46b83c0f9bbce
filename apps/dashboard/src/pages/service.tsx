import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { BackupsPanel, OperationsPanel } from '../components/services-backups.tsx';
import { LinksPanel } from '../components/services-links.tsx';
import { ConfirmDialog, Loaded, StateBadge, TimeAgo } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import { href, navigate } from '../router.ts';
import { currentSession } from '../session.ts';
import type { ManagedService } from '../types-config.ts';

/** One managed service (admin): its state and connection, links, backups with their verification, operations; delete. */
export default function ServicePage(props: PageProps) {
  const name = props.params.service as string;
  if (currentSession()?.role !== 'admin') {
    return (
      <>
        <h1>{name}</h1>
        <p>Managed services are shown to admins only.</p>
      </>
    );
  }
  return <Service key={name} name={name} />;
}

function Service(props: { name: string }) {
  const service = useResource<ManagedService>(path`/services/${props.name}`, {
    tables: ['managed_services', 'service_links', 'service_operations'],
  });
  return (
    <>
      <p>
        <a href={href('services')}>← Services</a>
      </p>
      <h1>{props.name}</h1>
      <Loaded resource={service}>
        {(s) => (
          <>
            <Details service={s} />
            <LinksPanel service={s} />
            <BackupsPanel service={s} />
            <OperationsPanel service={s.name} />
            <DeleteService service={s} />
          </>
        )}
      </Loaded>
    </>
  );
}

function Details(props: { service: ManagedService }) {
  const s = props.service;
  return (
    <section class="panel" aria-labelledby="service-details">
      <h2 id="service-details">
        {s.type} {s.version} <StateBadge state={s.state} />
      </h2>
      {s.lastError && <p class="error-note">{s.lastError}</p>}
      <dl class="service-facts">
        <dt>Image</dt>
        <dd class="mono">{s.image}</dd>
        <dt>Host (from linked apps)</dt>
        <dd class="mono">
          {s.connection.host}:{s.connection.port}
        </dd>
        <dt>Created</dt>
        <dd>
          <TimeAgo at={s.createdAt} />
        </dd>
        <dt>Ready</dt>
        <dd>{s.readyAt ? <TimeAgo at={s.readyAt} /> : <span class="muted">not yet</span>}</dd>
      </dl>
    </section>
  );
}

function DeleteService(props: { service: ManagedService }) {
  const s = props.service;
  const [open, setOpen] = useState(false);
  const [deleteData, setDeleteData] = useState(false);
  const remove = useAction(() =>
    api<ManagedService>('DELETE', `${path`/services/${s.name}`}${deleteData ? '?deleteData=true' : ''}`),
  );
  const linked = (s.linkedTo ?? []).length > 0;
  return (
    <section class="panel" aria-labelledby="delete-service">
      <h2 id="delete-service">Delete</h2>
      <p class="muted">
        {linked
          ? 'Unlink it from every environment first.'
          : 'Removes its container. The data volume and backups are kept unless you choose otherwise.'}
      </p>
      <button type="button" class="danger" disabled={linked || s.state === 'deleting'} onClick={() => setOpen(true)}>
        Delete service
      </button>
      {open && (
        <ConfirmDialog
          open={open}
          title={`Delete ${s.name}?`}
          confirmLabel="Delete service"
          confirmText={s.name}
          danger
          pending={remove.pending}
          error={remove.error}
          onCancel={() => {
            setOpen(false);
            remove.reset();
          }}
          onConfirm={() =>
            void remove.run().then((done) => {
              if (!done) return;
              setOpen(false);
              // The service is gone shortly: its list shows it deleting meanwhile.
              navigate(href('services'));
            })
          }
        >
          <p>Its container stops and is removed.</p>
          <div class="field">
            <label>
              <input type="checkbox" checked={deleteData} onChange={(e) => setDeleteData(e.currentTarget.checked)} /> Also delete
              its data volume and every backup (cannot be undone)
            </label>
          </div>
        </ConfirmDialog>
      )}
    </section>
  );
}
