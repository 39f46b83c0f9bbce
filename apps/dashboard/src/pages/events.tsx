import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, path, query } from '../api.ts';
import { AppNav } from '../components/app-nav.tsx';
import { EventsTable } from '../components/events-table.tsx';
import { ErrorNote, Loaded } from '../components/ui.tsx';
import { useAction, useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import { href, navigate } from '../router.ts';
import type { EventKindInfo, EventPage, EventSeverity, PierEvent } from '../types-observe.ts';

const PAGE = 50;
const SEVERITIES = ['info', 'warning', 'critical'] as const;

/** The kinds to ask for: undefined for all, [] when the kind and severity chosen exclude each other. */
function kindsFor(kinds: Readonly<Record<string, EventSeverity>>, kind: string, severity: string): string[] | undefined {
  if (kind) return !severity || kinds[kind] === severity ? [kind] : [];
  if (severity) return Object.keys(kinds).filter((k) => kinds[k] === severity);
  return undefined;
}

/**
 * The event log newest first: every app's and the host's (`#/events`), or one app's (`#/apps/:app/events`);
 * filtered by kind and severity (kept in the address: `?kind=deploy.failed&severity=critical`), older pages
 * on demand, and new events as they are recorded.
 */
export default function EventsPage(props: PageProps) {
  const app = props.params.app;
  const kind = props.query.get('kind') ?? '';
  const severity = props.query.get('severity') ?? '';
  // The kinds and their severities, as the server defines them.
  const known = useResource<{ kinds: EventKindInfo[] }>('/events/kinds');
  const severityOf = useMemo(
    () => Object.fromEntries((known.data?.kinds ?? []).map((k) => [k.kind, k.severity])) as Record<string, EventSeverity>,
    [known.data],
  );
  const kinds = kindsFor(severityOf, kind, severity);
  const base = app ? path`/apps/${app}/events` : '/events';
  const filter = { kind: kinds?.join(',') };
  // A severity filter waits for the kinds (until then it would ask for every event).
  const firstPath = kinds?.length === 0 || (severity && !known.data) ? null : base + query({ limit: PAGE, ...filter });
  const first = useResource<EventPage>(firstPath, { tables: ['events'], ...(app ? { app } : {}) });

  // Pages loaded so far (the first one reloads live; the older ones are kept while the filters stay).
  const [kept, setKept] = useState<{ key: string | null; events: PierEvent[]; next: number | null | undefined }>({
    key: firstPath,
    events: [],
    next: undefined,
  });
  const mine = kept.key === firstPath ? kept : { key: firstPath, events: [], next: undefined };
  useEffect(() => {
    // Events the first page held stay shown when newer ones push them off it.
    const page = first.data;
    if (page)
      setKept((k) =>
        k.key === firstPath
          ? { ...k, events: merge(k.events, page.events) }
          : { key: firstPath, events: page.events, next: undefined },
      );
  }, [first.data, firstPath]);
  const shown = useMemo(() => merge(mine.events, first.data?.events ?? []), [mine.events, first.data]);
  const hasMore = mine.next === undefined ? (first.data?.next ?? null) !== null : mine.next !== null;

  const more = useAction(async () => {
    const oldest = shown.at(-1);
    const page = await get<EventPage>(base + query({ limit: PAGE, ...filter, before: oldest?.id }));
    setKept((k) => (k.key === firstPath ? { ...k, events: merge(k.events, page.events), next: page.next } : k));
    return page;
  });

  const setFilter = (name: 'kind' | 'severity', value: string) => {
    const next = { kind, severity, [name]: value };
    navigate((app ? href('apps', app, 'events') : href('events')) + query(next));
  };

  return (
    <>
      {app ? <AppNav app={app} tab="events" /> : <h1>Events</h1>}
      {app && <h2>Events of {app}</h2>}
      <form class="inline events-filters" aria-label="Event filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="events-kind">Kind</label>
          <select id="events-kind" value={kind} onChange={(e) => setFilter('kind', e.currentTarget.value)}>
            <option value="">All kinds</option>
            {Object.keys(severityOf).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="events-severity">Severity</label>
          <select id="events-severity" value={severity} onChange={(e) => setFilter('severity', e.currentTarget.value)}>
            <option value="">All severities</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </form>
      {firstPath === null ? (
        <p>
          No events: {kind} events are {severityOf[kind] ?? 'of another severity'}, not {severity}.
        </p>
      ) : (
        <Loaded resource={first}>
          {() =>
            shown.length === 0 ? (
              <p>{kinds ? 'No events match these filters.' : 'No events yet.'}</p>
            ) : (
              <>
                <EventsTable
                  events={shown}
                  showApp={!app}
                  caption={`${shown.length} ${shown.length === 1 ? 'event' : 'events'}, newest first${hasMore ? '' : ' (all of them)'}`}
                />
                <div class="actions">
                  {hasMore && (
                    <button type="button" onClick={() => void more.run()} disabled={more.pending}>
                      {more.pending ? 'Loading…' : 'Load more'}
                    </button>
                  )}
                </div>
                <ErrorNote error={more.error} />
              </>
            )
          }
        </Loaded>
      )}
    </>
  );
}

/** Both lists' events once each, newest first. */
function merge(a: readonly PierEvent[], b: readonly PierEvent[]): PierEvent[] {
  const byId = new Map<number, PierEvent>();
  for (const e of a) byId.set(e.id, e);
  for (const e of b) byId.set(e.id, e);
  return [...byId.values()].sort((x, y) => y.id - x.id);
}
