import { useEffect, useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useAction, useConfirmed, useResource } from '../hooks.ts';
import type { ChannelView, DeliveryView } from '../types-ops.ts';
import { ChannelForm } from './settings-channel-form.tsx';
import { ConfirmDialog, ErrorNote, Loaded, Notice, StateBadge, TimeAgo } from './ui.tsx';

/** Deliveries have no table in the change feed: an open list loads again every 10 s (and after a test). */
const DELIVERIES_REFRESH_MS = 10_000;

/**
 * Notification channels: an admin sees the host's (or, picked, an app's);
 * an app token's session its app's. List, add, remove, send a test, recent deliveries.
 */
export function NotificationsSection(props: { admin: boolean; app: string | null }) {
  const apps = useResource<{ apps: { name: string }[] }>(props.admin ? '/apps' : null, { tables: ['apps'] });
  const [scope, setScope] = useState(props.admin ? '' : (props.app ?? ''));
  const base = scope === '' ? '/notifications' : path`/apps/${scope}/notifications`;
  const channels = useResource<{ channels: ChannelView[] }>(base, {
    tables: ['notification_channels'],
    ...(scope ? { app: scope } : {}),
  });
  const [open, setOpen] = useState<string | null>(null);
  const remove = useConfirmed((channel: ChannelView) => api('DELETE', `${base}/${encodeURIComponent(channel.name)}`));
  useEffect(() => setOpen(null), [base]);
  return (
    <section aria-labelledby="notifications-heading" class="panel">
      <h2 id="notifications-heading">Notifications</h2>
      {props.admin ? (
        <div class="field">
          <label for="channel-scope">Channels of</label>
          <select id="channel-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value)}>
            <option value="">the host (host events, and the apps each names)</option>
            {apps.data?.apps.map((a) => (
              <option key={a.name} value={a.name}>
                app {a.name}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <p class="muted">Channels of {props.app}: they hear its events.</p>
      )}
      <ChannelForm key={base} base={base} host={scope === ''} />
      {remove.done && <Notice>Channel {remove.done.name} removed.</Notice>}
      <Loaded resource={channels}>
        {(data) =>
          data.channels.length === 0 ? (
            <p class="muted">No channels yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Channel</th>
                    <th scope="col">Target</th>
                    <th scope="col" class="hide-narrow">
                      Hears
                    </th>
                    <th scope="col">
                      <span class="muted">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.channels.map((c) => (
                    <ChannelRow
                      key={c.name}
                      base={base}
                      channel={c}
                      open={open === c.name}
                      onToggle={() => setOpen(open === c.name ? null : c.name)}
                      onRemove={() => remove.ask(c)}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      {open && <Deliveries key={`${base}/${open}`} base={base} channel={open} />}
      <ConfirmDialog {...remove.dialog} title={`Remove the channel ${remove.subject?.name ?? ''}?`} confirmLabel="Remove" danger>
        <p>Its deliveries go with it; nothing is sent to it any more.</p>
      </ConfirmDialog>
    </section>
  );
}

function ChannelRow(props: { base: string; channel: ChannelView; open: boolean; onToggle: () => void; onRemove: () => void }) {
  const { channel: c } = props;
  const test = useAction(() => api<{ deliveryId: number }>('POST', `${props.base}/${encodeURIComponent(c.name)}/test`));
  return (
    <tr data-channel={c.name}>
      <th scope="row">
        {c.name}
        <div class="muted">
          {c.kind}
          {!c.enabled && ' · disabled'}
        </div>
      </th>
      <td class="mono">{c.target}</td>
      <td class="hide-narrow">
        {c.events.length === 0 ? 'every event' : c.events.join(', ')}
        {c.apps.length > 0 && <div class="muted">apps: {c.apps.join(', ')}</div>}
      </td>
      <td>
        <div class="actions">
          <button type="button" onClick={() => void test.run()} disabled={test.pending}>
            {test.pending ? 'Sending…' : 'Send a test'}
          </button>
          <button type="button" aria-expanded={props.open} onClick={props.onToggle}>
            {props.open ? 'Hide deliveries' : 'Deliveries'}
          </button>
          <button type="button" class="danger" aria-label={`Remove ${c.name}`} onClick={props.onRemove}>
            Remove
          </button>
        </div>
        <ErrorNote error={test.error} />
        {test.result && <Notice>Test message queued: see its delivery under Deliveries.</Notice>}
      </td>
    </tr>
  );
}

function Deliveries(props: { base: string; channel: string }) {
  const deliveries = useResource<{ deliveries: DeliveryView[] }>(
    `${props.base}/${encodeURIComponent(props.channel)}/deliveries?limit=20`,
  );
  const { reload } = deliveries;
  useEffect(() => {
    const timer = setInterval(reload, DELIVERIES_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <div>
      <h3>Recent deliveries to {props.channel}</h3>
      <Loaded resource={deliveries}>
        {(data) =>
          data.deliveries.length === 0 ? (
            <p class="muted">Nothing sent yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">State</th>
                    <th scope="col" class="num">
                      Attempts
                    </th>
                    <th scope="col">When</th>
                    <th scope="col" class="hide-narrow">
                      Last error
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.deliveries.map((d) => (
                    <tr key={d.id}>
                      <th scope="row">{d.kind}</th>
                      <td>
                        <StateBadge state={d.state} />
                        {d.state === 'pending' && d.nextAttemptAt && (
                          <div class="muted">next try {new Date(d.nextAttemptAt).toLocaleTimeString()}</div>
                        )}
                      </td>
                      <td class="num">{d.attempts}</td>
                      <td>
                        <TimeAgo at={d.sentAt ?? d.createdAt} />
                      </td>
                      <td class="hide-narrow">{d.lastError ?? <span class="muted">none</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </div>
  );
}
