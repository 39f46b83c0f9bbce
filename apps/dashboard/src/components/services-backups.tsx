import { api, path } from '../api.ts';
import { useAction, useConfirmed, useResource } from '../hooks.ts';
import type { Backup, ManagedService, ServiceOperation } from '../types-config.ts';
import { ConfirmDialog, ErrorNote, Loaded, Notice, StateBadge, TimeAgo } from './ui.tsx';

function sizeText(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** What the restore into a scratch container found: Postgres' tables and rows, Redis' keys. */
function foundText(found: NonNullable<Backup['verification']>['found']): string {
  if (!found) return '';
  if (typeof found.keys === 'number') return `${found.keys} key${found.keys === 1 ? '' : 's'} restored`;
  if (found.tables) {
    const counts = Object.values(found.tables);
    const rows = counts.reduce((sum, n) => sum + n, 0);
    return `${counts.length} table${counts.length === 1 ? '' : 's'}, ${rows} row${rows === 1 ? '' : 's'} restored`;
  }
  return '';
}

/** What a backup's verification found, in words. */
function Verification(props: { backup: Backup }) {
  const { backup } = props;
  if (backup.state === 'good') {
    return (
      <>
        <span>
          verified <TimeAgo at={backup.verification?.verifiedAt ?? backup.finishedAt} />
        </span>
        <div class="muted">{foundText(backup.verification?.found)}</div>
      </>
    );
  }
  if (backup.state === 'failed') return <span>{backup.error ?? 'failed'}</span>;
  return <span class="muted">{backup.state === 'verifying' ? 'verifying…' : 'not verified yet'}</span>;
}

/** A service's backups with their verification; "Back up now"; restore a verified one (typed confirmation). */
export function BackupsPanel(props: { service: ManagedService }) {
  const { service } = props;
  const backups = useResource<{ backups: Backup[] }>(path`/services/${service.name}/backups`, {
    tables: ['service_backups'],
  });
  const backUp = useAction(() => api<Backup>('POST', path`/services/${service.name}/backups`));
  const restore = useConfirmed((backup: Backup) =>
    api<{ service: string; operation: ServiceOperation }>(
      'POST',
      path`/services/${service.name}/backups/${backup.id}/restore`,
      {},
    ),
  );

  return (
    <section class="panel" aria-labelledby="service-backups">
      <h2 id="service-backups">Backups</h2>
      <p class="muted">
        Scheduled <code>{service.backupSchedule}</code> (UTC); the newest {service.backupRetention} verified backups are kept.
        Each backup is restored into a scratch container before it counts as good.
      </p>
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={backUp.pending || service.state !== 'ready'}
          onClick={() => void backUp.run()}
        >
          {backUp.pending ? 'Starting…' : 'Back up now'}
        </button>
        {service.state !== 'ready' && <span class="muted">Backups start once the service is ready.</span>}
      </div>
      {backUp.result && <Notice>Backup started; it is listed below and verified when done.</Notice>}
      <ErrorNote error={backUp.error} />
      {restore.action.result && (
        <Notice>
          Restore into {restore.action.result.service} queued ({restore.action.result.operation.state}); see the operations below.
        </Notice>
      )}
      <Loaded resource={backups}>
        {(data) =>
          data.backups.length === 0 ? (
            <p>No backups yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="muted">Newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Made</th>
                    <th scope="col">State</th>
                    <th scope="col">Verification</th>
                    <th scope="col" class="hide-narrow">
                      Size
                    </th>
                    <th scope="col" class="hide-narrow">
                      Trigger
                    </th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {data.backups.map((b) => (
                    <tr key={b.id}>
                      <th scope="row">
                        <TimeAgo at={b.createdAt} />
                      </th>
                      <td>
                        <StateBadge state={b.state === 'good' ? 'verified' : b.state} />
                      </td>
                      <td>
                        <Verification backup={b} />
                      </td>
                      <td class="hide-narrow">{sizeText(b.sizeBytes)}</td>
                      <td class="hide-narrow">{b.trigger}</td>
                      <td>
                        {b.state === 'good' ? (
                          <button type="button" onClick={() => restore.ask(b)}>
                            Restore
                          </button>
                        ) : (
                          <span class="muted">—</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <ConfirmDialog
        {...restore.dialog}
        title={`Restore ${service.name} from this backup?`}
        confirmLabel="Restore"
        confirmText={service.name}
        danger
      >
        {restore.subject && (
          <p>
            The data of {service.name} is replaced by the backup made {new Date(restore.subject.createdAt).toLocaleString()}.
            Changes made since then are lost{service.type === 'redis' ? ', and Redis restarts with it' : ''}.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

/** Recent work on the service (provision, backup, restore, delete) and how it ended. */
export function OperationsPanel(props: { service: string }) {
  const operations = useResource<{ operations: ServiceOperation[] }>(path`/services/${props.service}/operations`, {
    tables: ['service_operations'],
  });
  return (
    <section class="panel" aria-labelledby="service-operations">
      <h2 id="service-operations">Operations</h2>
      <Loaded resource={operations}>
        {(data) =>
          data.operations.length === 0 ? (
            <p class="muted">None yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Operation</th>
                    <th scope="col">State</th>
                    <th scope="col">Started</th>
                    <th scope="col" class="hide-narrow">
                      Finished
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.operations.slice(0, 20).map((op) => (
                    <tr key={op.id}>
                      <th scope="row">{op.kind}</th>
                      <td>
                        <StateBadge state={op.state === 'done' ? 'succeeded' : op.state} />
                        {op.error && <div class="muted">{op.error}</div>}
                      </td>
                      <td>
                        <TimeAgo at={op.createdAt} />
                      </td>
                      <td class="hide-narrow">
                        {op.finishedAt ? <TimeAgo at={op.finishedAt} /> : <span class="muted">not yet</span>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}
