import {
  CHECK_KINDS,
  type CheckKind,
  type CheckReport,
  type CheckResult,
  checkFailedReason,
  checksTimeoutReason,
  checksVerdict,
} from '@pier/core';
import { and, eq, like, lte, sql } from 'drizzle-orm';
import { OUTBOX_CHANNEL } from '../channels.ts';
import type { Db } from '../client.ts';
import { deploymentEvents, deployments, environments, outbox, refEvents } from '../schema.ts';
import {
  type DeploymentRow,
  type NewDeployment,
  recordTransition,
  supersededEvents,
  supersedeQueued,
  type Tx,
} from './deployment-store.ts';

/**
 * GitHub's checks of each commit, as its webhooks report them, and the
 * deployments waiting for them.
 *
 * Each check's newest report is a row of `ref_events` (the newest event per
 * app and key, ordered by GitHub's time: a replayed or late report is not
 * newer and changes nothing): key `check:<commit>:<kind>:<check key>`,
 * identity `<conclusion> <name>`. They are kept whether or not a deployment
 * waits yet, since GitHub does not promise that a push's webhook comes
 * before its commit's checks; old ones go with old webhook deliveries.
 *
 * A push and a check of the same commit are serialised by a transaction-level
 * advisory lock on (app, commit), taken before anything else, so that one
 * always sees the other: a deployment never waits for a result already in.
 */
export class CommitCheckStore {
  constructor(private readonly db: Db) {}

  /**
   * Records a deployment that waits for its commit's checks until
   * `checksDeadlineAt` (the environment's queued and waiting ones are
   * superseded), then settles it at once on the results already kept: it may
   * leave `queued` or `skipped`.
   */
  async enqueueWaiting(input: NewDeployment & { commitSha: string; checksDeadlineAt: Date }, tx?: Tx): Promise<DeploymentRow> {
    const run = async (t: Tx) => {
      await lockCommit(t, input.appId, input.commitSha);
      const older = await supersedeQueued(t, input.environmentId);
      const [row] = await t
        .insert(deployments)
        .values({ ...input, state: 'waiting_for_checks' })
        .returning();
      if (!row) throw new Error('insert returned no row');
      await t.insert(deploymentEvents).values([
        ...supersededEvents(older, row.id),
        {
          deploymentId: row.id,
          fromState: null,
          toState: 'waiting_for_checks' as const,
          message: `${input.trigger}: waiting for GitHub's checks of ${input.commitSha.slice(0, 12)}`,
        },
      ]);
      await settleWaiting(t, input.appId, input.commitSha);
      const [settled] = await t.select().from(deployments).where(eq(deployments.id, row.id));
      return settled ?? row;
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  /**
   * In a delivery's transaction: keeps a check's report unless the one kept
   * is newer (a replay or a late delivery: `applied` false), then settles the
   * app's deployments waiting for that commit.
   */
  async record(tx: Tx, appId: string, report: CheckReport): Promise<{ applied: boolean; settled: SettledDeployment[] }> {
    await lockCommit(tx, appId, report.commit);
    const applied = await keepNewest(tx, appId, report);
    const settled = applied ? await settleWaiting(tx, appId, report.commit) : [];
    return { applied, settled };
  }

  /** The commit's checks as last reported, by name. */
  results(appId: string, commit: string, tx?: Tx): Promise<CheckResult[]> {
    return resultsOf(tx ?? this.db, appId, commit);
  }

  /** Whether the app's webhook has reported any check (kept ones): GitHub sends it check events. */
  async reportsChecks(appId: string, tx?: Tx): Promise<boolean> {
    const [row] = await (tx ?? this.db)
      .select({ key: refEvents.key })
      .from(refEvents)
      .where(and(eq(refEvents.appId, appId), like(refEvents.key, `${PREFIX}%`)))
      .limit(1);
    return row !== undefined;
  }

  /**
   * Skips the deployments whose checks did not finish before their deadline,
   * one transaction each; returns how many.
   */
  async skipOverdue(now: Date): Promise<number> {
    const overdue = await this.db
      .select({ id: deployments.id })
      .from(deployments)
      .where(and(eq(deployments.state, 'waiting_for_checks'), lte(deployments.checksDeadlineAt, now)));
    let skipped = 0;
    for (const { id } of overdue) {
      const done = await this.db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(deployments)
          .where(and(eq(deployments.id, id), eq(deployments.state, 'waiting_for_checks')))
          .for('update');
        if (!row?.checksDeadlineAt) return false;
        const reason = checksTimeoutReason(row.checksDeadlineAt.getTime() - row.queuedAt.getTime());
        await recordTransition(tx, row, 'skipped', { reason, finishedAt: now });
        return true;
      });
      if (done) skipped++;
    }
    return skipped;
  }

  /** Deletes up to `limit` check reports from before `before`; returns how many went. */
  async deleteReportedBefore(before: Date, limit: number): Promise<number> {
    const deleted = await this.db.execute(sql`
      delete from ref_events where (app_id, key) in (
        select app_id, key from ref_events where key like ${`${PREFIX}%`} and at < ${before.toISOString()}::timestamptz limit ${limit})
      returning key`);
    return deleted.length;
  }
}

/** What became of a deployment that waited for checks. */
export interface SettledDeployment {
  deployment: DeploymentRow;
  /** `queued`: its build starts; `skipped`: a check failed (the reason names it). */
  state: 'queued' | 'skipped';
}

const PREFIX = 'check:';

function lockCommit(tx: Tx, appId: string, commit: string) {
  return tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`pier-checks:${appId}:${commit}`}, 0))`);
}

/** Upserts the report unless the kept one is newer; at the same second a finished report replaces a pending one. */
async function keepNewest(tx: Tx, appId: string, report: CheckReport): Promise<boolean> {
  const [applied] = await tx
    .insert(refEvents)
    .values({
      appId,
      key: `${PREFIX}${report.commit}:${report.kind}:${report.key}`,
      at: report.at ?? new Date(),
      identity: `${report.conclusion} ${report.name}`,
    })
    .onConflictDoUpdate({
      target: [refEvents.appId, refEvents.key],
      set: { at: sql`excluded.at`, identity: sql`excluded.identity` },
      setWhere: sql`ref_events.at < excluded.at
        or (ref_events.at = excluded.at and split_part(ref_events.identity, ' ', 1) = 'pending'
            and split_part(excluded.identity, ' ', 1) <> 'pending')`,
    })
    .returning({ appId: refEvents.appId });
  return applied !== undefined;
}

async function resultsOf(db: Db | Tx, appId: string, commit: string): Promise<CheckResult[]> {
  const prefix = `${PREFIX}${commit}:`;
  const rows = await db
    .select({ key: refEvents.key, identity: refEvents.identity })
    .from(refEvents)
    .where(and(eq(refEvents.appId, appId), like(refEvents.key, `${prefix}%`)));
  return rows.flatMap(({ key, identity }) => {
    const kind = key.slice(prefix.length).split(':', 1)[0] as CheckKind;
    const space = identity.indexOf(' ');
    if (!CHECK_KINDS.includes(kind) || space < 0) return [];
    return [{ kind, conclusion: identity.slice(0, space), name: identity.slice(space + 1) }];
  });
}

/**
 * The app's deployments waiting for `commit`, settled on its checks as kept:
 * those whose checks passed go `queued` with their build's outbox entry,
 * those with a failed check `skipped`, the others wait on.
 */
async function settleWaiting(tx: Tx, appId: string, commit: string): Promise<SettledDeployment[]> {
  const waiting = await tx
    .select({ deployment: deployments, required: environments.requiredChecks })
    .from(deployments)
    .innerJoin(environments, eq(environments.id, deployments.environmentId))
    .where(and(eq(deployments.appId, appId), eq(deployments.commitSha, commit), eq(deployments.state, 'waiting_for_checks')))
    .for('update', { of: deployments });
  if (waiting.length === 0) return [];
  const results = await resultsOf(tx, appId, commit);
  const settled: SettledDeployment[] = [];
  for (const { deployment, required } of waiting) {
    const verdict = checksVerdict(results, required);
    if (verdict.kind === 'waiting') continue;
    if (verdict.kind === 'passed') {
      await recordTransition(tx, deployment, 'queued', {}, "GitHub's checks passed");
      await tx.insert(outbox).values({ job: 'build', deploymentId: deployment.id });
      await tx.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, ${deployment.id})`);
      settled.push({ deployment: { ...deployment, state: 'queued' }, state: 'queued' });
    } else {
      const reason = checkFailedReason(verdict.check);
      await recordTransition(tx, deployment, 'skipped', { reason, finishedAt: new Date() });
      settled.push({ deployment: { ...deployment, state: 'skipped', reason }, state: 'skipped' });
    }
  }
  return settled;
}
