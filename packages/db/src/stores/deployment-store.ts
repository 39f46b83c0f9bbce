import { ConflictError, type DeploymentState, NotFoundError, type RepoSettings } from '@pier/core';
import { and, asc, desc, eq, gt, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { CANCEL_CHANNEL, OUTBOX_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { deploymentEvents, deploymentLogLines, deployments, environments, outbox } from '../schema.ts';
import { recordDeploymentEvent } from './deployment-event-log.ts';
import { markLiveIn, recordTransition, supersededEvents, supersedeQueued } from './deployment-transitions.ts';

export type DeploymentRow = typeof deployments.$inferSelect;
export type DeploymentTrigger = DeploymentRow['trigger'];
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface NewDeployment {
  appId: string;
  environmentId: string;
  trigger: DeploymentTrigger;
  gitRef: string | null;
  /** null when only a ref is known (a release event, a manual deploy of a branch): the worker resolves it. */
  commitSha: string | null;
  deliveryId?: string | null;
  /** Wait for GitHub's checks of `commitSha` until then before building (a push to a gated environment): `CommitCheckStore.enqueueWaiting`. */
  checksDeadlineAt?: Date | null;
  /** A prebuilt image to pull instead of building (then `gitRef` and `commitSha` are null). */
  image?: string | null;
}

export type BuildClaim = 'claimed' | 'busy' | 'skip';

export interface LogLine {
  id: number;
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
  at: Date;
}

/**
 * Deployments, their events and log lines, and the outbox that feeds the
 * queue. Every state change is a compare-and-set on the current state.
 */
export class DeploymentStore {
  constructor(private readonly db: Db) {}

  /**
   * Records a queued deployment and its outbox entry in one transaction, and
   * supersedes the environment's older queued deployments (latest wins).
   */
  async enqueue(input: NewDeployment, tx?: Tx): Promise<DeploymentRow> {
    const run = async (t: Tx) => {
      const older = await supersedeQueued(t, input.environmentId);
      const [row] = await t.insert(deployments).values(input).returning();
      if (!row) throw new Error('insert returned no row');
      const events = [
        ...supersededEvents(older, row.id),
        { deploymentId: row.id, fromState: null, toState: 'queued' as const, message: `queued by ${input.trigger}` },
      ];
      await t.insert(deploymentEvents).values(events);
      await recordDeploymentEvent(t, row.id, 'queued');
      await t.insert(outbox).values({ job: 'build', deploymentId: row.id });
      await t.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${row.id})`);
      return row;
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  /**
   * Records a deployment of an existing release (rollback, promotion, a
   * config change): no build, straight to `deploying`, with its outbox entry.
   */
  async enqueueRelease(input: ReleaseDeployment): Promise<DeploymentRow> {
    return this.db.transaction((t) => enqueueReleaseIn(t, input));
  }

  async get(id: string): Promise<DeploymentRow> {
    const [row] = await this.db.select().from(deployments).where(eq(deployments.id, id));
    if (!row) throw new NotFoundError(`deployment ${id} not found`);
    return row;
  }

  list(filter: { appId: string; environmentId?: string }, limit = 50): Promise<DeploymentRow[]> {
    const where = filter.environmentId
      ? and(eq(deployments.appId, filter.appId), eq(deployments.environmentId, filter.environmentId))
      : eq(deployments.appId, filter.appId);
    return this.db.select().from(deployments).where(where).orderBy(desc(deployments.queuedAt)).limit(limit);
  }

  events(id: string) {
    return this.db.select().from(deploymentEvents).where(eq(deploymentEvents.deploymentId, id)).orderBy(asc(deploymentEvents.id));
  }

  /**
   * Starts (or restarts, after a worker died) the build of a deployment, unless
   * another build of the same environment is running: one build at a time.
   */
  async claimBuild(id: string): Promise<BuildClaim> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(deployments).where(eq(deployments.id, id)).for('update');
      if (!row || (row.state !== 'queued' && row.state !== 'building')) return 'skip';
      await tx.select({ id: environments.id }).from(environments).where(eq(environments.id, row.environmentId)).for('update');
      const [running] = await tx
        .select({ id: deployments.id })
        .from(deployments)
        .where(and(eq(deployments.environmentId, row.environmentId), eq(deployments.state, 'building'), ne(deployments.id, id)));
      if (running) return 'busy';
      if (row.cancelRequestedAt) {
        await recordTransition(tx, row, 'cancelled', { reason: 'cancelled on request', finishedAt: new Date() });
        return 'skip';
      }
      await tx.update(deployments).set({ state: 'building', buildStartedAt: new Date() }).where(eq(deployments.id, id));
      await tx.insert(deploymentEvents).values({
        deploymentId: id,
        fromState: row.state,
        toState: 'building',
        message: row.state === 'building' ? 'build restarted after the worker stopped' : 'build started',
      });
      return 'claimed';
    });
  }

  /**
   * Moves `id` from one of `from` to `to`; returns false (and changes nothing)
   * when it is not in `from`. `then` queues that job for the deployment in the
   * same transaction (through the outbox): the caller decides what comes next.
   */
  async transition(
    id: string,
    from: readonly DeploymentState[],
    to: DeploymentState,
    patch: Partial<Omit<DeploymentRow, 'id' | 'state'>> = {},
    message?: string,
    then?: { job: 'deploy' },
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(deployments)
        .where(and(eq(deployments.id, id), inArray(deployments.state, [...from])))
        .for('update');
      if (!row) return false;
      await recordTransition(tx, row, to, patch, message);
      if (then) {
        await tx.insert(outbox).values({ job: then.job, deploymentId: id });
        await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${id})`);
      }
      return true;
    });
  }

  /**
   * Cancels a queued deployment (or one waiting for checks) at once; a
   * building one gets a cancel request that the worker acts on. Anything
   * else is a conflict.
   */
  async cancel(id: string): Promise<DeploymentRow> {
    const row = await this.get(id);
    if (row.state === 'queued' || row.state === 'waiting_for_checks') {
      const done = await this.transition(id, [row.state], 'cancelled', {
        reason: 'cancelled on request',
        finishedAt: new Date(),
      });
      if (done) return this.get(id);
    }
    if (row.state === 'queued' || row.state === 'building') {
      await this.db.update(deployments).set({ cancelRequestedAt: new Date() }).where(eq(deployments.id, id));
      await this.db.execute(sql`select pg_notify(${CANCEL_CHANNEL}, ${id})`);
      return this.get(id);
    }
    throw new ConflictError(
      `deployment ${id} is ${row.state}; only deployments waiting for checks, queued or building can be cancelled`,
    );
  }

  /**
   * Starts (or restarts, after a worker died) the deploy job of a built
   * deployment: 'skip' unless it is deploying. Several deployments of one
   * environment may be deploying: the newest rollout supersedes the others.
   */
  async claimDeploy(id: string): Promise<BuildClaim> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(deployments).where(eq(deployments.id, id)).for('update');
      if (row?.state !== 'deploying') return 'skip';
      if (!row.deployStartedAt) await tx.update(deployments).set({ deployStartedAt: new Date() }).where(eq(deployments.id, id));
      return 'claimed';
    });
  }

  async setRelease(id: string, releaseId: string): Promise<void> {
    await this.db.update(deployments).set({ releaseId }).where(eq(deployments.id, id));
  }

  /** Records what the repository said at the built commit (its `pier.json`, its Procfile's release line). */
  async setRepoConfig(id: string, settings: RepoSettings): Promise<void> {
    await this.db.update(deployments).set({ repoConfig: settings }).where(eq(deployments.id, id));
  }

  /**
   * What the repository said at the commit an image was built from: a
   * promotion, a config change or a rollback of an image deploys it with the
   * `pier.json` of its build (null when it had none, or was pulled).
   */
  async repoSettingsOfImage(appId: string, imageId: string): Promise<RepoSettings | null> {
    const [row] = await this.db
      .select({ repoConfig: deployments.repoConfig })
      .from(deployments)
      .where(and(eq(deployments.appId, appId), eq(deployments.imageId, imageId), sql`${deployments.repoConfig} is not null`))
      .orderBy(desc(deployments.queuedAt))
      .limit(1);
    return (row?.repoConfig as RepoSettings | undefined) ?? null;
  }

  /** Records the commit a ref resolved to, once known. */
  async setCommit(id: string, commitSha: string): Promise<void> {
    await this.db.update(deployments).set({ commitSha }).where(eq(deployments.id, id));
  }

  /** Image ids an app's deployments still need (live or on their way): never pruned. */
  async imagesInUse(appId: string): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ imageId: deployments.imageId })
      .from(deployments)
      .where(and(eq(deployments.appId, appId), inArray(deployments.state, ['deploying', 'live'])));
    return rows.flatMap((r) => (r.imageId ? [r.imageId] : []));
  }

  /** True when a cancel was asked for, or when the deployment is gone (its environment or app was deleted): nothing to build for. */
  async isCancelRequested(id: string): Promise<boolean> {
    const [row] = await this.db.select({ at: deployments.cancelRequestedAt }).from(deployments).where(eq(deployments.id, id));
    return !row || Boolean(row.at);
  }

  async appendLogs(id: string, lines: { stream: LogLine['stream']; line: string }[]): Promise<void> {
    if (lines.length === 0) return;
    await this.db.insert(deploymentLogLines).values(lines.map((l) => ({ deploymentId: id, ...l })));
  }

  logs(id: string, afterId = 0, limit = 5000): Promise<LogLine[]> {
    return this.db
      .select({
        id: deploymentLogLines.id,
        stream: deploymentLogLines.stream,
        line: deploymentLogLines.line,
        at: deploymentLogLines.at,
      })
      .from(deploymentLogLines)
      .where(and(eq(deploymentLogLines.deploymentId, id), gt(deploymentLogLines.id, afterId)))
      .orderBy(asc(deploymentLogLines.id))
      .limit(limit);
  }

  /**
   * Deletes up to `limit` log lines of deployments that ended (failed,
   * cancelled or superseded) before `finishedBefore`; the deployments, their
   * events and the live deployment's lines stay. Returns how many went.
   */
  async deleteOldLogs(finishedBefore: Date, limit: number): Promise<number> {
    const old = this.db
      .select({ id: deploymentLogLines.id })
      .from(deploymentLogLines)
      .innerJoin(deployments, eq(deployments.id, deploymentLogLines.deploymentId))
      .where(and(inArray(deployments.state, ['failed', 'cancelled', 'superseded']), lt(deployments.finishedAt, finishedBefore)))
      .limit(limit);
    const deleted = await this.db
      .delete(deploymentLogLines)
      .where(inArray(deploymentLogLines.id, old))
      .returning({ id: deploymentLogLines.id });
    return deleted.length;
  }

  /** Outbox entries not yet in the queue, oldest first, locked for this transaction. */
  async relayOutbox(
    limit: number,
    push: (entry: { id: number; job: string; deploymentId: string }) => Promise<void>,
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx
        .select({ id: outbox.id, job: outbox.job, deploymentId: outbox.deploymentId })
        .from(outbox)
        .where(isNull(outbox.enqueuedAt))
        .orderBy(asc(outbox.id))
        .limit(limit)
        .for('update', { skipLocked: true });
      for (const row of rows) {
        await push(row);
        await tx.update(outbox).set({ enqueuedAt: new Date() }).where(eq(outbox.id, row.id));
      }
      return rows.length;
    });
  }

  /** Deployments that should have a job in the queue: still queued or building, queued before `before`. */
  active(states: readonly DeploymentState[], before: Date): Promise<DeploymentRow[]> {
    return this.db
      .select()
      .from(deployments)
      .where(and(inArray(deployments.state, [...states]), lt(deployments.queuedAt, before)));
  }
}

export { markLiveIn, recordTransition, supersededEvents, supersedeQueued };

/** A deployment of an existing release: `DeploymentStore.enqueueRelease`. */
export interface ReleaseDeployment {
  appId: string;
  environmentId: string;
  trigger: DeploymentTrigger;
  releaseId: string | null;
  imageId: string;
  commitSha: string | null;
  gitRef?: string | null;
}

/** `DeploymentStore.enqueueRelease` inside the caller's transaction `t`. */
export async function enqueueReleaseIn(t: Tx, input: ReleaseDeployment): Promise<DeploymentRow> {
  const older = await supersedeQueued(t, input.environmentId);
  const [row] = await t
    .insert(deployments)
    .values({
      appId: input.appId,
      environmentId: input.environmentId,
      trigger: input.trigger,
      state: 'deploying',
      releaseId: input.releaseId,
      imageId: input.imageId,
      commitSha: input.commitSha,
      gitRef: input.gitRef ?? null,
    })
    .returning();
  if (!row) throw new Error('insert returned no row');
  await t.insert(deploymentEvents).values([
    ...supersededEvents(older, row.id),
    {
      deploymentId: row.id,
      fromState: null,
      toState: 'deploying' as const,
      message: `${input.trigger} of an existing image`,
    },
  ]);
  await recordDeploymentEvent(t, row.id, 'queued');
  await t.insert(outbox).values({ job: 'deploy', deploymentId: row.id });
  await t.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${row.id})`);
  return row;
}
