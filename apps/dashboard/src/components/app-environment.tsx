import { path } from '../api.ts';
import { type Resource, useResource, useTick } from '../hooks.ts';
import { href } from '../router.ts';
import type { EnvironmentStatus, Link, Replica } from '../types-app.ts';
import { DeployForm } from './app-deploy-form.tsx';
import { ReleaseList, shortImage } from './app-releases.tsx';
import { Loaded, StateBadge, TimeAgo } from './ui.tsx';

/** The tables an environment's status is made of: it loads again when one of them changes. */
export const STATUS_TABLES = [
  'environments',
  'releases',
  'rollouts',
  'replicas',
  'deployments',
  'service_links',
  'environment_processes',
];

/** An environment's status, live; a null env loads nothing. */
export function useStatus(app: string, env: string | null): Resource<EnvironmentStatus> {
  return useResource<EnvironmentStatus>(env === null ? null : path`/apps/${app}/environments/${env}/status`, {
    tables: STATUS_TABLES,
    app,
  });
}

/**
 * One environment side by side with the others: its state (crash loop first),
 * live release, rollout, replicas, URL and linked services, a deploy form and
 * its releases with rollback. `status` given: loaded by the page (it shares it);
 * else the card loads its own.
 */
export function EnvironmentCard(props: { app: string; env: string; status?: Resource<EnvironmentStatus> }) {
  const { app, env } = props;
  const own = useStatus(app, props.status ? null : env);
  const status = props.status ?? own;
  const headingId = `env-${env}`;
  return (
    <section class="panel env-card" aria-labelledby={headingId} data-env={env}>
      <h2 id={headingId}>{env}</h2>
      <Loaded resource={status}>{(s) => <StatusView app={app} status={s} />}</Loaded>
      <h3>Deploy</h3>
      <DeployForm app={app} env={env} />
      <h3>Releases</h3>
      <ReleaseList app={app} env={env} live={status.data?.liveRelease?.version ?? null} />
    </section>
  );
}

function StatusView(props: { app: string; status: EnvironmentStatus }) {
  const { app, status: s } = props;
  const looping = s.health === 'crash-looping' ? [{ type: 'web', restartStreak: s.restartStreak }] : [];
  for (const p of s.processes) if (p.type !== 'web' && p.health === 'crash-looping') looping.push(p);
  const rollout = s.rollout;
  return (
    <>
      {looping.map((p) => (
        <div key={p.type} class="crash-loop">
          {/* Announced when it appears and at each crash; the countdown beside it is not. */}
          <p role="alert">
            <strong>Crash-looping:</strong> {p.type === 'web' ? 'the web replicas' : `${p.type} replicas`} crashed{' '}
            {p.restartStreak} times in a row.
          </p>
          <p>
            {p.type === 'web' && s.nextRestartAt && (
              <>
                Next restart <TimeUntil at={s.nextRestartAt} />.{' '}
              </>
            )}
            <a href={href('apps', app, 'logs', s.environment)}>See its logs</a>
          </p>
        </div>
      ))}
      <dl class="env-facts">
        <dt>State</dt>
        <dd>
          <StateBadge state={stateOf(s)} />
        </dd>
        <dt>Live release</dt>
        <dd>
          {s.liveRelease ? (
            <>
              v{s.liveRelease.version} <span class="mono muted">{shortImage(s.liveRelease.image.ref)}</span>
              <div class="muted">
                since <TimeAgo at={s.liveRelease.createdAt} />
              </div>
            </>
          ) : (
            <span class="muted">none yet</span>
          )}
        </dd>
        <dt>Rollout</dt>
        <dd>
          {!rollout ? (
            <span class="muted">none yet</span>
          ) : rollout.state === 'active' ? (
            <>
              <StateBadge state="deploying" /> {rollout.from ? `v${rollout.from} → ` : ''}v{rollout.to} in progress{' '}
              {rollout.deployment && <a href={href('apps', app, 'deployments', rollout.deployment)}>follow it</a>}
            </>
          ) : (
            <>
              {rollout.from ? `v${rollout.from} → ` : ''}v{rollout.to} {rollout.state}{' '}
              <TimeAgo at={rollout.finishedAt ?? rollout.startedAt} />
              {rollout.reason && rollout.state !== 'succeeded' && <div class="muted">{rollout.reason}</div>}
            </>
          )}
        </dd>
        <dt>Replicas</dt>
        <dd>
          <Replicas status={s} />
        </dd>
        <dt>URL</dt>
        <dd>
          {s.liveRelease ? (
            <a href={s.url} rel="noreferrer" target="_blank">
              {s.url.replace(/^https:\/\//, '')}
            </a>
          ) : (
            <span class="muted">{s.url.replace(/^https:\/\//, '')}</span>
          )}
        </dd>
        <dt>Linked services</dt>
        <dd>
          <LinkedServices links={s.services} />
        </dd>
      </dl>
    </>
  );
}

/** The environment's state in one word, crash loop first. */
function stateOf(s: EnvironmentStatus): string {
  if (s.health === 'crash-looping' || s.processes.some((p) => p.health === 'crash-looping')) return 'crash-looping';
  if (s.rollout?.state === 'active') return 'deploying';
  return s.liveRelease ? 'live' : 'new';
}

function TimeUntil(props: { at: string }) {
  useTick(5000);
  const s = Math.round((new Date(props.at).getTime() - Date.now()) / 1000);
  return <time dateTime={props.at}>{s <= 0 ? 'due now' : `in about ${s < 60 ? `${s}s` : `${Math.round(s / 60)}m`}`}</time>;
}

function Replicas(props: { status: EnvironmentStatus }) {
  const web = props.status.replicas.filter((r) => r.state !== 'stopped');
  const healthy = web.filter((r) => r.healthy && r.state === 'serving').length;
  if (web.length === 0) return <span class="muted">none running (wanted: {props.status.desiredReplicas})</span>;
  return (
    <>
      <div>
        {healthy} of {web.length} healthy (wanted: {props.status.desiredReplicas} web)
      </div>
      <ul class="replicas">
        {web.map((r) => (
          <ReplicaItem key={r.id} replica={r} />
        ))}
      </ul>
    </>
  );
}

function ReplicaItem(props: { replica: Replica }) {
  const r = props.replica;
  const health = r.state !== 'serving' ? r.state : r.healthy ? 'healthy' : 'unhealthy';
  return (
    <li>
      <span class="mono">{r.name}</span> <StateBadge state={health} />
      <span class="muted">
        {' '}
        {r.process}
        {r.release !== null ? `, v${r.release}` : ''}
      </span>
    </li>
  );
}

export function LinkedServices(props: { links: Link[] }) {
  if (props.links.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="links">
      {props.links.map((l) => (
        <li key={l.service}>
          <a href={href('services', l.service)}>{l.service}</a> {l.type} {l.version} → <code>{l.variable}</code>
        </li>
      ))}
    </ul>
  );
}
