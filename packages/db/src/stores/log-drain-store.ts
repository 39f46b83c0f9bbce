import { ConflictError, NotFoundError, type SecretBox } from '@pier/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import type { LogDrainRow } from '../schema/observability.ts';
import { logDrains } from '../schema.ts';
import { isUniqueViolation } from './pg-errors.ts';

export type LogDrainKind = 'syslog' | 'https';

/** What a drain sends to, sealed at rest: the URL may carry credentials, the headers tokens. */
export interface LogDrainConfig {
  url: string;
  /** Sent with each https POST (an `Authorization`, an ingest key). */
  headers?: Record<string, string>;
  /** PEM certificates trusted for the endpoint instead of Node's bundled CAs (an operator's own CA). */
  ca?: string;
}

export interface NewLogDrain {
  appId: string;
  name: string;
  kind: LogDrainKind;
  config: LogDrainConfig;
  /** `scheme://host:port`: what may be shown. */
  target: string;
}

/** A drain as the API shows it: never its URL's credentials, path or headers. */
export interface LogDrainView {
  name: string;
  kind: LogDrainKind;
  target: string;
  delivered: number;
  dropped: number;
  /** Lines stored and not yet delivered (counted up to `LAG_COUNT_LIMIT`, then that many). */
  lagLines: number;
  lastDeliveredAt: Date | null;
  failingSince: Date | null;
  lastError: string | null;
  createdAt: Date;
}

/** One line to forward, with the names a drain's message carries. */
export interface PendingLine {
  id: number;
  at: Date;
  appName: string;
  envName: string;
  processType: string;
  replica: string;
  releaseVersion: number | null;
  /** `system` is Pier's own line about the container (the store's enum allows it). */
  stream: 'stdout' | 'stderr' | 'system';
  line: string;
}

/** Lag counts stop here: a drain this far behind is skipped ahead by the forwarder anyway. */
export const LAG_COUNT_LIMIT = 200_000;

/** Each drain is a sender and a scan of its app's lines every pass: an app has at most this many. */
export const MAX_DRAINS_PER_APP = 5;

const configContext = (drainId: string) => `log-drain:${drainId}`;

/**
 * Log drains: per app, where its lines are forwarded, and how far each got.
 * The lines themselves are the store's (`log_lines`): a drain is a cursor
 * over the ids of its app's lines, so the collector never waits on a drain
 * and the "buffer" of a drain that is down is what the store keeps. Only
 * lines stored more than a second ago are read: ids are taken when a row is
 * inserted, so a batch that commits a moment after a later one is not jumped
 * over (the log store's appends are one short statement each).
 */
export class LogDrainStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /**
   * Records a drain and seals its config; it starts at the newest line
   * stored, so it forwards what is written from now on. ConflictError when
   * the app has a drain of that name, or MAX_DRAINS_PER_APP drains already
   * (counted under a lock on the app's row, so two requests cannot both pass).
   */
  async create(input: NewLogDrain): Promise<LogDrainRow> {
    try {
      return await this.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from apps where id = ${input.appId} for update`);
        const [count] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(logDrains)
          .where(eq(logDrains.appId, input.appId));
        if ((count?.n ?? 0) >= MAX_DRAINS_PER_APP)
          throw new ConflictError(`name: the app has ${count?.n} drains, the most it may have; delete one first`);
        const [row] = await tx
          .insert(logDrains)
          .values({
            appId: input.appId,
            name: input.name,
            kind: input.kind,
            configCiphertext: '',
            keyId: '',
            target: input.target,
            cursor: sql`(select coalesce(max(id), 0) from log_lines)`,
          })
          .returning();
        const drain = row as LogDrainRow;
        const sealed = this.box.seal(JSON.stringify(input.config), configContext(drain.id));
        const [sealedRow] = await tx
          .update(logDrains)
          .set({ configCiphertext: sealed.ciphertext, keyId: sealed.keyId })
          .where(eq(logDrains.id, drain.id))
          .returning();
        return sealedRow as LogDrainRow;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`name: the app already has a drain named ${input.name}`);
      throw err;
    }
  }

  /** The app's drains with their state, by name. */
  async list(appId: string): Promise<LogDrainView[]> {
    const rows = await this.db.select().from(logDrains).where(eq(logDrains.appId, appId)).orderBy(asc(logDrains.name));
    return Promise.all(rows.map(async (row) => view(row, await this.lag(row))));
  }

  /** One drain of the app; NotFoundError when there is none of that name. */
  async get(appId: string, name: string): Promise<LogDrainRow> {
    const [row] = await this.db
      .select()
      .from(logDrains)
      .where(and(eq(logDrains.appId, appId), eq(logDrains.name, name)));
    if (!row) throw new NotFoundError(`no drain named ${name}`);
    return row;
  }

  /** Every drain of every app (the forwarder's list). */
  async all(): Promise<LogDrainRow[]> {
    return this.db.select().from(logDrains).orderBy(asc(logDrains.createdAt));
  }

  /** Deletes a drain; NotFoundError when there is none of that name. */
  async delete(appId: string, name: string): Promise<void> {
    const rows = await this.db
      .delete(logDrains)
      .where(and(eq(logDrains.appId, appId), eq(logDrains.name, name)))
      .returning({ id: logDrains.id });
    if (rows.length === 0) throw new NotFoundError(`no drain named ${name}`);
  }

  /** The drain's config, opened (for the forwarder's sender only). */
  config(drain: LogDrainRow): LogDrainConfig {
    return JSON.parse(this.box.open({ keyId: drain.keyId, ciphertext: drain.configCiphertext }, configContext(drain.id)));
  }

  /** Up to `limit` lines of the drain's app after its cursor, stored more than a second ago, in id order. */
  async pending(drainId: string, limit: number): Promise<PendingLine[]> {
    const rows = await this.db.execute<Record<string, unknown>>(sql`
      select l.id, l.at, a.name as app_name, e.name as env_name, l.process_type, l.replica, l.release_version, l.stream, l.line
      from ${logDrains} d
      join apps a on a.id = d.app_id
      join environments e on e.app_id = d.app_id
      cross join lateral (
        -- Each environment's next lines from its (environment, id) index, then merged: no sort of the whole backlog.
        select * from log_lines l
        where l.environment_id = e.id and l.id > d.cursor and l.stored_at < now() - interval '1 second'
        order by l.id limit ${limit}
      ) l
      where d.id = ${drainId}
      order by l.id limit ${limit}`);
    return (rows as unknown as Record<string, unknown>[]).map((r) => ({
      id: Number(r.id),
      at: new Date(r.at as string),
      appName: r.app_name as string,
      envName: r.env_name as string,
      processType: r.process_type as string,
      replica: r.replica as string,
      releaseVersion: r.release_version === null ? null : Number(r.release_version),
      stream: r.stream as PendingLine['stream'],
      line: r.line as string,
    }));
  }

  /**
   * The endpoint accepted lines up to `cursor`: moves the cursor (never
   * back), adds `delivered`, and clears the failure.
   */
  async advance(drainId: string, cursor: number, delivered: number): Promise<void> {
    await this.db
      .update(logDrains)
      .set({
        cursor: sql`greatest(${logDrains.cursor}, ${cursor})`,
        delivered: sql`${logDrains.delivered} + ${delivered}`,
        lastDeliveredAt: sql`now()`,
        failingSince: null,
        lastError: null,
      })
      .where(eq(logDrains.id, drainId));
  }

  /**
   * Skips a drain more than `buffer` lines behind to its newest `buffer`
   * lines, counting those it passes as dropped; returns how many it dropped.
   */
  async skipAhead(drainId: string, buffer: number): Promise<number> {
    const rows = await this.db.execute<{ dropped: number }>(sql`
      with d as (select id, app_id, cursor from ${logDrains} where id = ${drainId} for update),
      app_lines as (
        select l.id from d join environments e on e.app_id = d.app_id
        join log_lines l on l.environment_id = e.id and l.id > d.cursor
      ),
      newest as (select id from app_lines order by id desc offset ${buffer} limit 1),
      passed as (select count(*)::bigint as n from app_lines, newest where app_lines.id <= newest.id)
      update ${logDrains} set cursor = newest.id, dropped = ${logDrains.dropped} + passed.n
      from newest, passed where ${logDrains.id} = ${drainId}
      returning passed.n::int as dropped`);
    return Number((rows as unknown as { dropped: number }[])[0]?.dropped ?? 0);
  }

  /**
   * Records that sending failed with `error` (its text scrubbed of the URL,
   * its credentials and the headers' values); true when the drain was not
   * failing before (the forwarder then records a `drain.failing` event once).
   */
  async failing(drain: LogDrainRow, error: string): Promise<boolean> {
    const text = scrubbed(error, this.config(drain)).slice(0, 500);
    const rows = await this.db.execute<{ started: boolean }>(sql`
      with before as (select failing_since from ${logDrains} where id = ${drain.id} for update)
      update ${logDrains} set failing_since = coalesce(before.failing_since, now()), last_error = ${text}
      from before where ${logDrains.id} = ${drain.id}
      returning before.failing_since is null as started`);
    return (rows as unknown as { started: boolean }[])[0]?.started === true;
  }

  /** Lines of the drain's app after its cursor, counted up to LAG_COUNT_LIMIT. */
  private async lag(drain: LogDrainRow): Promise<number> {
    const rows = await this.db.execute<{ n: number }>(sql`
      select count(*)::int as n from (
        select 1 from environments e join log_lines l on l.environment_id = e.id and l.id > ${drain.cursor}
        where e.app_id = ${drain.appId} limit ${LAG_COUNT_LIMIT}
      ) behind`);
    return Number((rows as unknown as { n: number }[])[0]?.n ?? 0);
  }
}

function view(row: LogDrainRow, lagLines: number): LogDrainView {
  return {
    name: row.name,
    kind: row.kind as LogDrainKind,
    target: row.target,
    delivered: row.delivered,
    dropped: row.dropped,
    lagLines,
    lastDeliveredAt: row.lastDeliveredAt,
    failingSince: row.failingSince,
    lastError: row.lastError,
    createdAt: row.createdAt,
  };
}

/** `text` with the drain's URL, its user name and password, and its header values replaced by `***`. */
export function scrubbed(text: string, config: LogDrainConfig): string {
  const secrets = new Set<string>([config.url]);
  try {
    const url = new URL(config.url);
    if (url.password) secrets.add(url.password).add(decodeURIComponent(url.password));
    if (url.username) secrets.add(url.username).add(decodeURIComponent(url.username));
    if (url.search) secrets.add(url.search.slice(1));
    if (url.pathname.length > 1) secrets.add(url.pathname);
  } catch {
    // An unparsable URL is only removed whole.
  }
  for (const value of Object.values(config.headers ?? {})) secrets.add(value);
  let out = text;
  for (const secret of [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, '***');
  }
  return out;
}
