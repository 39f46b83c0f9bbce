import type { Route } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { RoundRobin } from './round-robin.ts';
import { RouteTable } from './route-table.ts';

const up = (id: string, port: number) => ({ id, host: '127.0.0.1', port });
const web: Route = {
  app: 'web',
  env: 'production',
  hostnames: ['web.pier.test', 'example.org'],
  upstreams: [up('a', 1), up('b', 2)],
};
const staging: Route = {
  app: 'web',
  env: 'staging',
  hostnames: ['web-staging.pier.test'],
  upstreams: [up('c', 3)],
  healthPath: '/up',
};

describe('RouteTable', () => {
  it('looks routes up by Host header, ignoring case, port and a trailing dot', () => {
    const table = new RouteTable();
    table.replace([web, staging]);
    expect(table.lookup('WEB.pier.test:8080')).toBe(web);
    expect(table.lookup('example.org.')).toBe(web);
    expect(table.lookup('web-staging.pier.test')).toBe(staging);
    expect(table.lookup('other.pier.test')).toBeUndefined();
    expect(table.lookup(undefined)).toBeUndefined();
  });

  it('replaces the whole table at once', () => {
    const table = new RouteTable();
    table.replace([web, staging]);
    table.replace([staging]);
    expect(table.lookup('web.pier.test')).toBeUndefined();
    expect(table.routes).toEqual([staging]);
    expect(table.hostnameCount).toBe(1);
  });

  it('keeps the first claim of a hostname and reports the conflict', () => {
    const table = new RouteTable();
    const clash: Route = { app: 'web-staging', env: 'production', hostnames: ['web-staging.pier.test'], upstreams: [] };
    expect(table.replace([staging, clash])).toEqual([
      {
        hostname: 'web-staging.pier.test',
        kept: { app: 'web', env: 'staging' },
        dropped: { app: 'web-staging', env: 'production' },
      },
    ]);
    expect(table.lookup('web-staging.pier.test')).toBe(staging);
  });

  it('lists every upstream once as a health target, with its route’s check (null: automatic) and first hostname', () => {
    const table = new RouteTable();
    table.replace([web, staging, { ...staging, env: 'copy', hostnames: [], healthPath: 'tcp' }]);
    expect(table.healthTargets().map((t) => [t.upstream.id, t.check, t.hostname])).toEqual([
      ['a', null, 'web.pier.test'],
      ['b', null, 'web.pier.test'],
      ['c', '/up', 'web-staging.pier.test'],
    ]);
  });
});

describe('RoundRobin', () => {
  it('rotates over usable upstreams and skips the others', () => {
    const rr = new RoundRobin();
    const route: Route = { ...web, upstreams: [up('a', 1), up('b', 2), up('c', 3)] };
    expect([1, 2, 3, 4].map(() => rr.pick(route, () => true)?.id)).toEqual(['a', 'b', 'c', 'a']);
    expect([1, 2, 3].map(() => rr.pick(route, (u) => u.id !== 'b')?.id)).toEqual(['c', 'a', 'c']);
    expect(rr.pick(route, () => false)).toBeUndefined();
    const only = route.upstreams[0];
    expect(rr.pick({ ...route, upstreams: only ? [only] : [] }, () => true, only)).toBeUndefined();
    expect(rr.pick({ ...web, upstreams: [] }, () => true)).toBeUndefined();
  });
});
