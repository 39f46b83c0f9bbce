import { describe, expect, it } from 'vitest';
import { controlRoute, withFixedRoutes } from './control-route.ts';
import type { Route } from './ports/route-source.ts';

const api = { host: '127.0.0.1', port: 4000 };
const shop: Route = { app: 'shop', env: 'production', hostnames: ['shop.apps.test', 'pier.example.com'], upstreams: [] };
const blog: Route = { app: 'blog', env: 'production', hostnames: ['pier.example.com'], upstreams: [] };

describe('controlRoute', () => {
  it('routes the control hostname to the api, health-polled on /health, with HSTS', () => {
    expect(controlRoute('pier.example.com', api)).toEqual({
      app: 'pier',
      env: 'control',
      hostnames: ['pier.example.com'],
      upstreams: [{ id: 'pier-api', host: '127.0.0.1', port: 4000 }],
      healthPath: '/health',
      hsts: true,
    });
  });
});

describe('withFixedRoutes', () => {
  it.each<[string, Route[], Route[], Route[]]>([
    ['no fixed routes', [], [shop], [shop]],
    [
      'a fixed hostname is taken out of other routes, and a route left without hostnames goes',
      [controlRoute('pier.example.com', api)],
      [shop, blog],
      [controlRoute('pier.example.com', api), { ...shop, hostnames: ['shop.apps.test'] }],
    ],
  ])('%s', (_, fixed, routes, expected) => {
    expect(withFixedRoutes(fixed, routes)).toEqual(expected);
  });
});
