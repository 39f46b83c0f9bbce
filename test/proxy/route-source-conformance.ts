import type { Route, RouteSource } from '@pier/core';
import { afterEach, describe, expect, it } from 'vitest';

/** What the suite needs around a RouteSource: a way to change the truth it reads. */
export interface RouteSourceHarness {
  source: RouteSource;
  /** Makes `routes` the committed truth (for Postgres: write the releases, replicas and domains, commit). */
  commit(routes: Route[]): Promise<void>;
  close?(): Promise<void>;
}

const upstream = (id: string, port: number) => ({ id, host: '127.0.0.1', port, releaseId: `release-of-${id}` });
const WEB: Route = {
  app: 'web',
  env: 'production',
  environmentId: 'env-web-production',
  hostnames: ['web.pier.test', 'www.example.org'],
  upstreams: [upstream('c1', 40001), upstream('c2', 40002)],
};
const STAGING: Route = {
  app: 'web',
  env: 'staging',
  environmentId: 'env-web-staging',
  hostnames: ['web-staging.pier.test'],
  upstreams: [upstream('c3', 40003)],
  healthPath: '/up',
};

/** Routes in a comparable form: sorted, hostnames and upstreams sorted. */
function canonical(routes: Route[]): Route[] {
  return routes
    .map((r) => ({
      ...r,
      hostnames: [...r.hostnames].sort(),
      upstreams: [...r.upstreams].sort((a, b) => a.id.localeCompare(b.id)),
    }))
    .sort((a, b) => `${a.app}/${a.env}`.localeCompare(`${b.app}/${b.env}`));
}

/**
 * The contract of the RouteSource port (packages/core/src/ports/route-source.ts), run against any
 * implementation: full tables from `load()`, each hostname once, change notifications after a commit,
 * none after unsubscribing.
 */
export function describeRouteSourceConformance(
  name: string,
  makeHarness: () => Promise<RouteSourceHarness>,
  notifyWithinMs = 2_000,
): void {
  describe(`RouteSource conformance: ${name}`, () => {
    const harnesses: RouteSourceHarness[] = [];
    const harness = async () => {
      const h = await makeHarness();
      harnesses.push(h);
      return h;
    };
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((h) => h.close?.()));
    });

    it('load() returns the full committed table', async () => {
      const h = await harness();
      await h.commit([WEB, STAGING]);
      expect(canonical(await h.source.load())).toEqual(canonical([WEB, STAGING]));
      await h.commit([STAGING]);
      expect(canonical(await h.source.load())).toEqual(canonical([STAGING]));
    });

    it("names each route's environment and each upstream's release (request metrics are kept under them)", async () => {
      const h = await harness();
      await h.commit([WEB, STAGING]);
      const routes = await h.source.load();
      const ids = routes.map((r) => r.environmentId);
      expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
      expect(new Set(ids).size).toBe(routes.length);
      const upstreams = routes.flatMap((r) => r.upstreams);
      expect(upstreams.every((u) => typeof u.releaseId === 'string' && u.releaseId.length > 0)).toBe(true);
    });

    it('names every hostname in at most one route, lower-case', async () => {
      const h = await harness();
      await h.commit([WEB, STAGING]);
      const hostnames = (await h.source.load()).flatMap((r) => r.hostnames);
      expect(new Set(hostnames).size).toBe(hostnames.length);
      expect(hostnames.every((n) => n === n.toLowerCase() && !n.endsWith('.'))).toBe(true);
    });

    it('keeps a route whose environment has no healthy replica, with no upstreams', async () => {
      const h = await harness();
      await h.commit([{ ...STAGING, upstreams: [] }]);
      expect(await h.source.load()).toEqual([expect.objectContaining({ app: 'web', env: 'staging', upstreams: [] })]);
    });

    it('notifies subscribers after a commit, and stops after unsubscribe', async () => {
      const h = await harness();
      await h.commit([WEB]);
      let calls = 0;
      const unsubscribe = h.source.subscribe(() => {
        calls++;
      });
      await new Promise((resolve) => setTimeout(resolve, 100)); // a LISTEN takes a moment to be in place
      await h.commit([WEB, STAGING]);
      await expect.poll(() => calls, { timeout: notifyWithinMs }).toBeGreaterThan(0);
      unsubscribe();
      const seen = calls;
      await h.commit([STAGING]);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, notifyWithinMs)));
      expect(calls).toBe(seen);
    });
  });
}
