import { href } from '../router.ts';
import type { PierEvent } from '../types-observe.ts';
import { StateBadge, TimeAgo } from './ui.tsx';

/** Events newest first: time, severity (a word on a badge), kind, app and environment, message. */
export function EventsTable(props: { events: readonly PierEvent[]; showApp: boolean; caption: string }) {
  return (
    <div class="table-wrap">
      <table class="events">
        <caption class="muted" aria-live="polite">
          {props.caption}
        </caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Severity</th>
            <th scope="col" class="hide-narrow">
              Kind
            </th>
            {props.showApp && (
              <th scope="col" class="hide-narrow">
                App
              </th>
            )}
            <th scope="col" class="hide-narrow">
              Environment
            </th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <tr key={e.id} data-kind={e.kind}>
              <td class="nowrap">
                <TimeAgo at={e.at} />
              </td>
              <td>
                <StateBadge state={e.severity} />
              </td>
              <td class="mono nowrap hide-narrow">{e.kind}</td>
              {props.showApp && (
                <td class="nowrap hide-narrow">
                  {e.app ? <a href={href('apps', e.app, 'events')}>{e.app}</a> : <span class="muted">host</span>}
                </td>
              )}
              <td class="hide-narrow">{e.env ?? <span class="muted">–</span>}</td>
              <td class="message">
                {e.message}
                {/* On narrow screens the hidden columns' facts go under the message. */}
                <div class="narrow-only muted">
                  <span class="mono">{e.kind}</span>
                  {props.showApp && ` · ${e.app ?? 'host'}`}
                  {e.env && ` · ${e.env}`}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
