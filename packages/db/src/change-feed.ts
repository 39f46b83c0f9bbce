import type postgres from 'postgres';
import { CHANGES_CHANNEL } from './channels.ts';

/** One change: which table, and the app the row belongs to (null for the host's and the services' own rows). */
export interface Change {
  table: string;
  appId: string | null;
}

/** `onChange` hears every change; `onReset` hears a LISTEN (re)made, after which anything may have changed. */
export type ChangeListener = { onChange(change: Change): void; onReset(): void };

export interface ChangeSubscription {
  /** Resolves once the LISTEN is in place (a change committed after that is heard); rejects when it cannot be made now. */
  ready: Promise<void>;
  unsubscribe(): void;
}

/** How long after a LISTEN that could not be made it is tried again (while anyone subscribes). */
const RETRY_MS = 5000;
/** How often the feed NOTIFYs itself to check that its LISTEN still hears (postgres.js drops a LISTEN it cannot remake). */
const PING_MS = 30_000;
/** A ping not heard back within this is a LISTEN lost: it is made again. */
const PING_TIMEOUT_MS = 10_000;
/** The ping's table name: never passed on to subscribers. */
const PING = '_ping';

/**
 * The change feed of one process: one LISTEN on `pier_changes`, fanned out to
 * every subscriber (each dashboard tab's `GET /changes`). The LISTEN is made
 * with the first subscriber and dropped with the last. postgres.js listens
 * again after a dropped connection (subscribers then hear `onReset`); a
 * LISTEN that cannot be made at all is reported to `onError` and tried again.
 */
export class ChangeFeed {
  readonly #sql: postgres.Sql;
  readonly #onError: (err: unknown) => void;
  readonly #listeners = new Set<ChangeListener>();
  #listening: Promise<{ unlisten(): Promise<void> }> | null = null;
  #retry: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  /** The nonce of the ping in flight, until it is heard. */
  #awaiting: string | null = null;

  constructor(sql: postgres.Sql, onError: (err: unknown) => void = () => {}) {
    this.#sql = sql;
    this.#onError = onError;
  }

  subscribe(listener: ChangeListener): ChangeSubscription {
    this.#listeners.add(listener);
    const listening = this.#listen();
    this.#ping ??= setInterval(() => void this.#checkListening(), PING_MS);
    return {
      ready: listening.then(() => {}),
      unsubscribe: () => {
        this.#listeners.delete(listener);
        if (this.#listeners.size > 0) return;
        clearTimeout(this.#retry);
        clearInterval(this.#ping);
        this.#ping = undefined;
        this.#drop();
      },
    };
  }

  /** Forgets the current LISTEN (unlistening when it was made). */
  #drop(): void {
    const current = this.#listening;
    this.#listening = null;
    this.#awaiting = null;
    void current?.then((l) => l.unlisten()).catch(() => {});
  }

  /** NOTIFYs a nonce and, when it is not heard back in time, makes the LISTEN again. */
  async #checkListening(): Promise<void> {
    if (!this.#listening || this.#awaiting) return;
    const nonce = Math.random().toString(36).slice(2);
    this.#awaiting = nonce;
    try {
      await this.#sql`select pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify({ t: PING, a: null, n: nonce })})`;
    } catch {
      // Postgres is away: postgres.js listens again once it is back, and the next ping checks that it did.
      this.#awaiting = null;
      return;
    }
    setTimeout(() => {
      if (this.#awaiting !== nonce || this.#listeners.size === 0) return;
      this.#onError(new Error('the change feed stopped hearing its own NOTIFY; listening again'));
      this.#drop();
      void this.#listen().catch(() => {});
    }, PING_TIMEOUT_MS);
  }

  #listen(): Promise<{ unlisten(): Promise<void> }> {
    if (this.#listening) return this.#listening;
    const listening = this.#sql.listen(
      CHANGES_CHANNEL,
      (payload) => this.#fanOut(payload),
      // Called on the first LISTEN and on each one remade after a dropped connection.
      () => {
        for (const l of this.#listeners) l.onReset();
      },
    );
    this.#listening = listening;
    listening.catch((err: unknown) => {
      if (this.#listening !== listening) return;
      this.#listening = null;
      this.#onError(err);
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        if (this.#listeners.size > 0) void this.#listen().catch(() => {});
      }, RETRY_MS);
    });
    return listening;
  }

  #fanOut(payload: string): void {
    const change = parseChange(payload);
    if (!change) return;
    if (change.table === PING) {
      if (payload.includes(`"n":"${this.#awaiting}"`)) this.#awaiting = null;
      return;
    }
    for (const l of this.#listeners) l.onChange(change);
  }
}

function parseChange(payload: string): Change | null {
  try {
    const parsed = JSON.parse(payload) as { t?: unknown; a?: unknown };
    if (typeof parsed.t !== 'string') return null;
    return { table: parsed.t, appId: typeof parsed.a === 'string' ? parsed.a : null };
  } catch {
    return null;
  }
}
