import { PierError } from '@pier/core';
import type { Change } from '@pier/db';
import type { ApiDeps } from '../deps.ts';
import { openEventStream, sendComment, sendEvent } from '../http/event-stream.ts';
import { route } from '../http/route-kit.ts';

class ChangesUnavailableError extends PierError {
  readonly code = 'changes_unavailable';
}

/** Changes reach a client at most this often, batched: a deploy's burst of writes is one event. */
const BATCH_MS = 250;
/** A comment this often keeps idle connections (and the proxies between) open. */
const HEARTBEAT_MS = 25_000;

/**
 * `GET /changes`: Server-Sent Events saying which kinds of rows changed for
 * which app, so a client (the dashboard) reloads what it shows at once instead
 * of polling. An app token hears its app's changes only. `reset` means a
 * change may have been missed: reload everything.
 */
export function changeRoutes(deps: ApiDeps) {
  const names = new Map<string, string | null>();
  const nameOf = async (appId: string): Promise<string | null> => {
    if (!names.has(appId)) {
      const name = await deps.apps.byId(appId).then(
        (a) => a.name,
        () => null,
      );
      if (names.size > 10_000) names.clear();
      names.set(appId, name);
    }
    return names.get(appId) ?? null;
  };

  return [
    route({
      method: 'GET',
      url: '/changes',
      summary:
        'Server-Sent Events: `changes` lists the tables whose rows changed, each with its app (batched every 250 ms); `reset` means reload everything',
      tag: 'meta',
      handler: async ({ request, reply, principal }) => {
        const feed = deps.changes;
        if (!feed) throw new ChangesUnavailableError('changes: this server has no change feed');
        let stream: ReturnType<typeof openEventStream> | undefined;
        const pending = new Map<string, Change>();
        let timer: NodeJS.Timeout | undefined;
        const flush = async () => {
          timer = undefined;
          const batch = [...pending.values()];
          pending.clear();
          const changes = await Promise.all(
            batch.map(async (c) => ({ table: c.table, app: c.appId ? await nameOf(c.appId) : null })),
          );
          if (stream && !stream.closed.aborted) sendEvent(stream.res, 'changes', changes);
        };
        let readySent = false;
        const subscription = feed.subscribe({
          onChange(change) {
            if (principal.role === 'app' && change.appId !== principal.appId) return;
            if (change.table === 'apps' && change.appId) names.delete(change.appId);
            pending.set(`${change.table}|${change.appId}`, change);
            timer ??= setTimeout(() => void flush().catch(() => {}), BATCH_MS);
          },
          onReset() {
            // The first LISTEN comes before `ready`: only a LISTEN remade later may have missed something.
            if (readySent && stream && !stream.closed.aborted) sendEvent(stream.res, 'reset', {});
          },
        });
        // `ready` once the LISTEN is in place: from then on no change is missed. Without one, 503 (the client retries).
        try {
          await subscription.ready;
        } catch {
          subscription.unsubscribe();
          clearTimeout(timer);
          throw new ChangesUnavailableError('changes: the feed cannot listen to Postgres right now; try again');
        }
        stream = openEventStream(request, reply);
        const { res, closed } = stream;
        sendEvent(res, 'ready', {});
        readySent = true;
        const heartbeat = setInterval(() => sendComment(res, 'keep-alive'), HEARTBEAT_MS);
        await new Promise<void>((resolve) => {
          if (closed.aborted) resolve();
          closed.addEventListener('abort', () => resolve(), { once: true });
        });
        subscription.unsubscribe();
        clearTimeout(timer);
        clearInterval(heartbeat);
        if (!res.writableEnded) res.end();
      },
    }),
  ];
}
