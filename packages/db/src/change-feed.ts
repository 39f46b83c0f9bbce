import type postgres from 'postgres';
import { CHANGES_CHANNEL } from './channels.ts';

/** One change: which table, and the app the row belongs to (null for the host's and the services' own rows). */
export interface Change {
  table: string;
  appId: string | null;
}

/** `onChange` hears every change; `onReset` hears a LISTEN (re)made, after which anything may have changed. */
export type ChangeListener = { onChange(change: Change): void; onReset(): void };

/**
 * The change feed of one process: one LISTEN on `pier_changes`, fanned out to
 * every subscriber (each dashboard tab's `GET /changes`). The LISTEN is made
 * with the first subscriber and dropped with the last.
 */
export class ChangeFeed {
  readonly #sql: postgres.Sql;
  readonly #listeners = new Set<ChangeListener>();
  #listening: Promise<{ unlisten(): Promise<void> } | null> | null = null;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    this.#listening ??= this.#sql
      .listen(
        CHANGES_CHANNEL,
        (payload) => this.#fanOut(payload),
        () => {
          for (const l of this.#listeners) l.onReset();
        },
      )
      .catch(() => null);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0 || !this.#listening) return;
      const listening = this.#listening;
      this.#listening = null;
      void listening.then((l) => l?.unlisten()).catch(() => {});
    };
  }

  #fanOut(payload: string): void {
    const change = parseChange(payload);
    if (!change) return;
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
