import { path } from '../api.ts';
import { useResource } from '../hooks.ts';
import { href } from '../router.ts';

const TABS: readonly { id: string; label: string; perEnvironment: boolean }[] = [
  { id: '', label: 'Overview', perEnvironment: false },
  { id: 'variables', label: 'Variables', perEnvironment: true },
  { id: 'logs', label: 'Logs', perEnvironment: true },
  { id: 'metrics', label: 'Metrics', perEnvironment: true },
  { id: 'processes', label: 'Processes', perEnvironment: true },
  { id: 'domains', label: 'Domains', perEnvironment: true },
  { id: 'events', label: 'Events', perEnvironment: false },
];

/**
 * An app's header: its name, its tabs, and (on a tab of one environment)
 * the environment picker. `tab` is the current tab's id ('' for the overview).
 */
export function AppNav(props: { app: string; tab: string; env?: string }) {
  const env = props.env ?? 'staging';
  const environments = useResource<{ environments: { name: string }[] }>(path`/apps/${props.app}/environments`, {
    tables: ['environments'],
    app: props.app,
  }).data?.environments.map((e) => e.name);
  const perEnvironment = TABS.find((t) => t.id === props.tab)?.perEnvironment ?? false;
  return (
    <div class="app-nav">
      <h1>
        <a href={href('apps', props.app)}>{props.app}</a>
      </h1>
      <nav aria-label={`${props.app} sections`}>
        <ul class="tabs">
          {TABS.map((t) => {
            const to =
              t.id === ''
                ? href('apps', props.app)
                : t.perEnvironment
                  ? href('apps', props.app, t.id, env)
                  : href('apps', props.app, t.id);
            return (
              <li key={t.id}>
                <a href={to} aria-current={t.id === props.tab ? 'page' : undefined}>
                  {t.label}
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
      {perEnvironment && environments && environments.length > 0 && (
        <nav aria-label="Environment" class="env-picker">
          <span class="muted">Environment:</span>
          <ul>
            {environments.map((name) => (
              <li key={name}>
                <a href={href('apps', props.app, props.tab, name)} aria-current={name === env ? 'page' : undefined}>
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </div>
  );
}
