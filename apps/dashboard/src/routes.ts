import type { FunctionComponent } from 'preact';
import type { PageProps } from './page.ts';

export interface PageRoute {
  pattern: string;
  /** The document's title (the app's name is added where there is one). */
  title: string;
  /** The page's module, loaded when first visited (its own chunk). */
  load: () => Promise<{ default: FunctionComponent<PageProps> }>;
}

/** Every page; the first whose pattern matches is shown. */
export const ROUTES: readonly PageRoute[] = [
  { pattern: '/', title: 'Apps', load: () => import('./pages/apps.tsx') },
  { pattern: '/apps/:app', title: 'App', load: () => import('./pages/app.tsx') },
  { pattern: '/apps/:app/deployments/:id', title: 'Deployment', load: () => import('./pages/deployment.tsx') },
  { pattern: '/apps/:app/variables/:env', title: 'Variables', load: () => import('./pages/variables.tsx') },
  { pattern: '/apps/:app/logs/:env', title: 'Logs', load: () => import('./pages/logs.tsx') },
  { pattern: '/apps/:app/metrics/:env', title: 'Metrics', load: () => import('./pages/metrics.tsx') },
  { pattern: '/apps/:app/processes/:env', title: 'Processes', load: () => import('./pages/processes.tsx') },
  { pattern: '/apps/:app/domains/:env', title: 'Domains', load: () => import('./pages/domains.tsx') },
  { pattern: '/apps/:app/events', title: 'Events', load: () => import('./pages/events.tsx') },
  { pattern: '/services', title: 'Services', load: () => import('./pages/services.tsx') },
  { pattern: '/services/:service', title: 'Service', load: () => import('./pages/service.tsx') },
  { pattern: '/events', title: 'Events', load: () => import('./pages/events.tsx') },
  { pattern: '/settings', title: 'Settings', load: () => import('./pages/settings.tsx') },
];
