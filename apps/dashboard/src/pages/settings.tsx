import { HostSection } from '../components/settings-host.tsx';
import { NotificationsSection } from '../components/settings-notifications.tsx';
import { TokensSection } from '../components/settings-tokens.tsx';
import { Loaded, TimeAgo } from '../components/ui.tsx';
import { useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import { currentSession } from '../session.ts';

/**
 * The session and the server; for an admin also API tokens and the host's
 * disks and memory; notifications for both (the host's or the app's). An
 * app token's session sees no admin-only section at all.
 */
export default function SettingsPage(_props: PageProps) {
  const session = currentSession();
  const admin = session?.role === 'admin';
  return (
    <>
      <h1>Settings</h1>
      <SessionSection />
      {admin && <TokensSection />}
      <NotificationsSection admin={admin} app={session?.app ?? null} />
      {admin && <HostSection />}
    </>
  );
}

function SessionSection() {
  const session = currentSession();
  const version = useResource<{ version: string; cli: string }>('/version');
  if (!session) return null;
  return (
    <section aria-labelledby="session-heading" class="panel">
      <h2 id="session-heading">This session</h2>
      <dl class="facts">
        <dt>Role</dt>
        <dd>{session.role === 'admin' ? 'admin: every app and the host' : 'app token: one app only'}</dd>
        <dt>App</dt>
        <dd>{session.app ?? <span class="muted">every app</span>}</dd>
        <dt>Expires</dt>
        <dd>
          {new Date(session.expiresAt).toLocaleString()} (
          <ExpiresIn at={session.expiresAt} />)
        </dd>
        <dt>Server version</dt>
        <dd>
          <Loaded resource={version}>
            {(v) => (
              <>
                <span class="mono">{v.version}</span> ·{' '}
                <a href={v.cli} download="pier">
                  download the matching pier CLI
                </a>
              </>
            )}
          </Loaded>
        </dd>
      </dl>
    </section>
  );
}

function ExpiresIn(props: { at: string }) {
  const ms = new Date(props.at).getTime() - Date.now();
  if (ms <= 0) return <TimeAgo at={props.at} />;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  return <span>{hours > 0 ? `in ${hours}h ${minutes}m` : `in ${minutes}m`}</span>;
}
