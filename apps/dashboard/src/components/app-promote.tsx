import { compareEnvironments } from '@pier/client';
import { useState } from 'preact/hooks';
import { api, path, query } from '../api.ts';
import { type Resource, useAction, useResource } from '../hooks.ts';
import type { Deployment, EnvironmentStatus, VariableComparison } from '../types-app.ts';
import { DifferencesList } from './app-differences.tsx';
import { LinkedServices } from './app-environment.tsx';
import { StartedNotice } from './app-started.tsx';
import { ConfirmDialog, ErrorNote, Loaded } from './ui.tsx';

const FROM = 'staging';
const TO = 'production';

/**
 * What differs between staging and production (variables by name, linked
 * services: as `pier promote` shows it) and the promotion of staging's live
 * image to production (`POST …/production/promote { from: 'staging' }`),
 * confirmed in a dialog that shows those differences first.
 */
export function PromotePanel(props: { app: string; from: Resource<EnvironmentStatus>; to: Resource<EnvironmentStatus> }) {
  const { app } = props;
  // The server compares the values and answers names only: no secret reaches the page.
  const comparison = useResource<VariableComparison>(
    `${path`/apps/${app}/environments/${FROM}/variables/compare`}${query({ with: TO })}`,
    {
      tables: ['variables', 'environments'],
      app,
    },
  );
  // The version shown when the dialog opened: the one promoted (staging may deploy another meanwhile).
  const [confirming, setConfirming] = useState<number | null>(null);
  const [promoted, setPromoted] = useState<number | undefined>(undefined);
  const promote = useAction((release: number) =>
    api<Deployment>('POST', path`/apps/${app}/environments/${TO}/promote`, { from: FROM, release }),
  );
  const from = props.from.data;
  const to = props.to.data;
  const differences =
    from && to && comparison.data
      ? compareEnvironments({ name: FROM, links: from.services }, { name: TO, links: to.services }, comparison.data)
      : undefined;
  const version = from?.liveRelease?.version;
  const started = promote.result;

  return (
    <section class="panel" aria-labelledby="promote-title">
      <h2 id="promote-title">
        {FROM} → {TO}
      </h2>
      <h3>What differs</h3>
      <Loaded resource={comparison}>
        {() => (differences ? <DifferencesList differences={differences} /> : <p class="muted">Loading…</p>)}
      </Loaded>
      <div class="grid compare-links">
        <div>
          <h4>Linked to {FROM}</h4>
          {from ? <LinkedServices links={from.services} /> : <span class="muted">…</span>}
        </div>
        <div>
          <h4>Linked to {TO}</h4>
          {to ? <LinkedServices links={to.services} /> : <span class="muted">…</span>}
        </div>
      </div>
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={version === undefined || !differences}
          aria-describedby={version === undefined ? 'promote-none' : undefined}
          onClick={() => {
            if (version === undefined) return;
            promote.reset();
            setConfirming(version);
          }}
        >
          Promote {FROM} to {TO}…
        </button>
        {from && version === undefined && (
          <span id="promote-none" class="muted">
            {FROM} has no live release to promote: deploy it first.
          </span>
        )}
      </div>
      {started && <StartedNotice app={app} id={started.id} text={`Promoting v${promoted} to ${TO}`} focus />}
      {confirming === null && <ErrorNote error={promote.error} />}
      {confirming !== null && differences && (
        <ConfirmDialog
          open
          title={`Promote release v${confirming} of ${app} from ${FROM} to ${TO}?`}
          confirmLabel="Promote"
          pending={promote.pending}
          error={promote.error}
          onConfirm={() => {
            setPromoted(confirming);
            void promote.run(confirming).then((d) => {
              if (d) setConfirming(null);
            });
          }}
          onCancel={() => setConfirming(null)}
        >
          <p>
            The exact image live in {FROM} starts in {TO} with {TO}'s own variables and linked services, health-gated, without a
            rebuild. {to?.liveRelease ? `${TO} runs release v${to.liveRelease.version} now.` : `${TO} has no live release yet.`}
          </p>
          {version !== undefined && version !== confirming && (
            <p class="muted">
              {FROM} has gone live with v{version} since this opened: v{confirming} is the one promoted.
            </p>
          )}
          <h3>
            What differs between {FROM} and {TO}
          </h3>
          <DifferencesList differences={differences} />
        </ConfirmDialog>
      )}
    </section>
  );
}
