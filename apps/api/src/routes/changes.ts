import { PierError } from '@pier/core';
import type { Change } from '@pier/db';
import type { ApiDeps } from '../deps.ts';
import { openEventStream, sendEvent } from '../http/event-stream.ts';
import { route } from '../http/route-kit.ts';

class ChangesUnavailableError extends PierError {
  readonly code = 'changes_unavailable';
}

/** Changes reach a client at most this often, batched: a deploy's burst of writes is one event. */
const BATCH_MS = 250;
/** A comment this often keeps idle connections (and the proxies between) open. */
const HEARTBEAT_MS = 25_000;
/** How often a session's stream checks that the session is still live (signed out: the stream ends). */
const RECHECK_MS = 30_000;

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
        const { res, closed } = openEventStream(request, reply);
        const pending = new Map<string, Change>();
        let timer: NodeJS.Timeout | undefined;
        const flush = async () => {
          timer = undefined;
          const batch = [...pending.values()];
          pending.clear();
          const changes = await Promise.all(
            batch.map(async (c) => ({ table: c.table, app: c.appId ? await nameOf(c.appId) : null })),
          );
          if (!closed.aborted) sendEvent(res, 'changes', changes);
        };
        const unsubscribe = feed.subscribe({
          onChange(change) {
            if (principal.role === 'app' && change.appId !== principal.appId) return;
            if (change.table === 'apps' && change.appId) names.delete(change.appId);
            pending.set(`${change.table}|${change.appId}`, change);
            timer ??= setTimeout(() => void flush().catch(() => {}), BATCH_MS);
          },
          onReset() {
            if (!closed.aborted) sendEvent(res, 'reset', {});
          },
        });
        sendEvent(res, 'ready', {});
        const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
        const session = request.session;
        const recheck = session
          ? setInterval(() => {
              void deps.sessions.resolve(session.secret).then((live) => {
                if (!live && !closed.aborted) {
                  sendEvent(res, 'signed-out', {});
                  res.end();
                }
              });
            }, RECHECK_MS)
          : undefined;
        await new Promise<void>((resolve) => {
          if (closed.aborted) resolve();
          closed.addEventListener('abort', () => resolve(), { once: true });
          res.once('finish', () => resolve());
        });
        unsubscribe();
        clearTimeout(timer);
        clearInterval(heartbeat);
        clearInterval(recheck);
        if (!res.writableEnded) res.end();
      },
    }),
  ];
}
