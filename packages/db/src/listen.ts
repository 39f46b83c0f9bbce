import type { Subscribe } from '@pier/core';
import type postgres from 'postgres';

/**
 * A LISTEN on `channel` (a constant of channels.ts) as a `Subscribe` (what `PassLoop`'s `wakeOn` and a
 * `Feed`'s source take). `onChange` runs on every NOTIFY, and also each time
 * the LISTEN is (re)established: postgres.js listens again after a dropped
 * connection, and what was notified meanwhile is lost, so the reader loads
 * again. `onError` hears a LISTEN that could not be made (the reader then
 * relies on its polling). Nothing is called after the unsubscribe.
 */
export function listenTo(sql: postgres.Sql, channel: string): Subscribe {
  return (onChange, onError) => {
    let listener: { unlisten(): Promise<void> } | null = null;
    let closed = false;
    const changed = () => {
      if (!closed) onChange();
    };
    sql
      .listen(channel, changed, changed)
      .then((l) => {
        if (closed) void l.unlisten().catch(() => {});
        else listener = l;
      })
      .catch((err: unknown) => {
        if (!closed) onError?.(err);
      });
    return () => {
      closed = true;
      void listener?.unlisten().catch(() => {});
    };
  };
}
