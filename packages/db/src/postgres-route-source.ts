import { hostnamesFor, type Route, type RouteSource } from '@pier/core';
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { ROUTES_CHANNEL } from './channels.ts';
import type { Db } from './client.ts';
import { listenTo } from './listen.ts';
import { apps, domains, environments, releases, replicas, rollouts, volumes } from './schema.ts';

/**
 * RouteSource over Postgres: every deployed environment with its generated and
 * custom hostnames and its serving replicas; changes arrive by LISTEN/NOTIFY.
 */
export class PostgresRouteSource implements RouteSource {
  constructor(
    private readonly db: Db,
    private readonly sql: postgres.Sql,
    private readonly baseDomain: string,
  ) {}

  async load(): Promise<Route[]> {
    const envs = await this.db
      .select({
        id: environments.id,
        app: apps.name,
        env: environments.name,
        health: releases.health,
        httpsRedirect: environments.httpsRedirect,
        hsts: environments.hsts,
      })
      .from(environments)
      .innerJoin(apps, eq(apps.id, environments.appId))
      .innerJoin(releases, eq(releases.id, environments.liveReleaseId));
    const serving = await this.db
      .select({
        id: replicas.id,
        environmentId: replicas.environmentId,
        releaseId: replicas.releaseId,
        host: replicas.host,
        port: replicas.port,
      })
      .from(replicas)
      .where(
        and(eq(replicas.state, 'serving'), eq(replicas.processType, 'web'), isNotNull(replicas.host), isNotNull(replicas.port)),
      );
    const custom = await this.db.select({ hostname: domains.hostname, environmentId: domains.environmentId }).from(domains);
    // Mid-rollout environments whose web process mounts a single-writer volume: the old replica stops before the
    // new one starts, so for a moment there is no upstream (other rollouts start the new replicas first).
    const swapping = new Set(
      (
        await this.db
          .selectDistinct({ environmentId: rollouts.environmentId })
          .from(rollouts)
          .innerJoin(volumes, eq(volumes.environmentId, rollouts.environmentId))
          .where(
            and(
              eq(rollouts.state, 'active'),
              isNull(volumes.deletingAt),
              eq(volumes.shared, false),
              sql`'web' = any(${volumes.processTypes})`,
            ),
          )
      ).map((r) => r.environmentId),
    );
    return envs.map((env) => ({
      app: env.app,
      env: env.env,
      environmentId: env.id,
      // The live release's check: a path or `tcp`; absent, automatic.
      ...healthPathOf(env.health),
      hostnames: hostnamesFor(
        env.app,
        env.env,
        this.baseDomain,
        custom.filter((d) => d.environmentId === env.id).map((d) => d.hostname),
      ),
      upstreams: serving
        .filter((r) => r.environmentId === env.id)
        .map((r) => ({ id: r.id, host: r.host as string, port: r.port as number, releaseId: r.releaseId })),
      // Written only when they differ from the defaults, so routes stay small and comparable.
      ...(env.httpsRedirect ? {} : { httpsRedirect: false }),
      ...(env.hsts ? { hsts: true } : {}),
      // A single-writer web rollout is under way: while it has no upstream (the old replica stopped first), hold.
      ...(swapping.has(env.id) ? { hold: true } : {}),
    }));
  }

  subscribe(onChange: () => void, onError?: (err: unknown) => void): () => void {
    // A lost LISTEN is covered by the feed's periodic full reload.
    return listenTo(this.sql, ROUTES_CHANNEL)(onChange, onError);
  }
}

/** `{ healthPath }` of a release's health settings (`releases.health`), or nothing for the automatic check. */
function healthPathOf(health: unknown): { healthPath?: string } {
  const path = (health as { path?: unknown } | null)?.path;
  return typeof path === 'string' ? { healthPath: path } : {};
}
