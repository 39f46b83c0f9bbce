import { useState } from 'preact/hooks';
import { ApiError, api } from '../api.ts';
import { useAction } from '../hooks.ts';
import type { ChannelKind, ChannelView } from '../types-ops.ts';
import { ShowOnce } from './settings-secret.tsx';
import { ErrorNote, Field } from './ui.tsx';

const FIELDS = [
  'channelName',
  'kind',
  'url',
  'secret',
  'host',
  'port',
  'tls',
  'user',
  'password',
  'from',
  'to',
  'events',
  'apps',
];

/** The API names the channel's `name`; on this page `name` is the token form's field, so it is `channelName` here. */
function ownFields(error: ApiError | undefined): ApiError | undefined {
  if (!error) return undefined;
  return new ApiError(error.status, error.code, error.message.replace(/^(body\.)?name:/, 'channelName:'));
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Adds a notification channel (webhook, Slack, email) at `base`
 * (`/notifications` for the host's, `/apps/:app/notifications` for an app's).
 * A webhook's generated signing secret is shown once.
 */
export function ChannelForm(props: { base: string; host: boolean }) {
  const [kind, setKind] = useState<ChannelKind>('webhook');
  const [values, setValues] = useState<Record<string, string>>({ port: '587', tls: 'starttls' });
  const set = (key: string) => (e: { currentTarget: { value: string } }) =>
    setValues((v) => ({ ...v, [key]: e.currentTarget.value }));
  const value = (key: string) => values[key] ?? '';
  const create = useAction((body: Record<string, unknown>) => api<ChannelView & { secret?: string }>('POST', props.base, body));
  const error = ownFields(create.error);

  const body = (): Record<string, unknown> => {
    const common: Record<string, unknown> = { name: value('channelName').trim(), kind };
    const events = list(value('events'));
    if (events.length > 0) common.events = events;
    const apps = list(value('apps'));
    if (props.host && apps.length > 0) common.apps = apps;
    if (kind === 'slack') return { ...common, url: value('url').trim() };
    if (kind === 'webhook')
      return { ...common, url: value('url').trim(), ...(value('secret') ? { secret: value('secret') } : {}) };
    return {
      ...common,
      host: value('host').trim(),
      port: Number(value('port')),
      tls: value('tls'),
      ...(value('user') ? { user: value('user') } : {}),
      ...(value('password') ? { password: value('password') } : {}),
      from: value('from').trim(),
      to: list(value('to')),
    };
  };

  const text = (
    label: string,
    key: string,
    extra: { hint?: string; type?: 'text' | 'password' | 'number' | 'email'; required?: boolean } = {},
  ) => (
    <Field label={label} name={key} error={error} {...(extra.hint ? { hint: extra.hint } : {})}>
      {(attrs) => {
        const common = { ...attrs, required: extra.required ?? false, autocomplete: 'off', value: value(key), onInput: set(key) };
        if (extra.type === 'password') return <input {...common} type="password" />;
        if (extra.type === 'number') return <input {...common} type="number" inputMode="numeric" />;
        if (extra.type === 'email') return <input {...common} type="email" />;
        return <input {...common} type="text" />;
      }}
    </Field>
  );

  return (
    <details class="panel">
      <summary>Add a channel</summary>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void create.run(body()).then((made) => {
            // Secrets typed in are not kept once the channel holds them.
            if (made) setValues({ port: '587', tls: 'starttls' });
          });
        }}
      >
        {text('Channel name', 'channelName', { required: true, hint: 'lowercase letters, digits and dashes' })}
        <Field label="Kind" name="kind" error={error}>
          {(attrs) => (
            <select {...attrs} value={kind} onChange={(e) => setKind(e.currentTarget.value as ChannelKind)}>
              <option value="webhook">signed webhook</option>
              <option value="slack">Slack</option>
              <option value="email">email</option>
            </select>
          )}
        </Field>
        {kind !== 'email' &&
          text(kind === 'slack' ? 'Slack webhook URL' : 'Webhook URL', 'url', { required: true, hint: 'https://…' })}
        {kind === 'webhook' &&
          text('Signing secret (optional)', 'secret', { type: 'password', hint: 'at least 16 characters; generated when empty' })}
        {kind === 'email' && (
          <>
            {text('SMTP server', 'host', { required: true })}
            {text('Port', 'port', { type: 'number', required: true })}
            <Field label="TLS" name="tls" error={error}>
              {(attrs) => (
                <select {...attrs} value={value('tls')} onChange={set('tls')}>
                  <option value="starttls">STARTTLS</option>
                  <option value="tls">TLS from the first byte</option>
                  <option value="none">none (loopback only)</option>
                </select>
              )}
            </Field>
            {text('SMTP user (optional)', 'user')}
            {text('SMTP password (optional)', 'password', { type: 'password' })}
            {text('From', 'from', { type: 'email', required: true })}
            {text('To', 'to', { required: true, hint: 'addresses, separated by commas' })}
          </>
        )}
        {text('Event kinds (optional)', 'events', { hint: 'e.g. deploy.failed, separated by commas; empty: every kind' })}
        {props.host && text('Apps (optional)', 'apps', { hint: "apps whose events it hears besides the host's; * for all" })}
        <button type="submit" class="primary" disabled={create.pending}>
          {create.pending ? 'Adding…' : 'Add channel'}
        </button>
      </form>
      <ErrorNote error={error} fields={FIELDS} />
      {create.result?.secret && (
        <ShowOnce
          label={`Signing secret of ${create.result.name}`}
          value={create.result.secret}
          what="this signing secret"
          onDone={create.reset}
        />
      )}
      {create.result && !create.result.secret && <p role="status">Channel {create.result.name} added.</p>}
    </details>
  );
}
