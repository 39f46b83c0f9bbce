import { useEffect, useState } from 'preact/hooks';
import { AppNav } from '../components/app-nav.tsx';
import { CronSection } from '../components/processes-cron.tsx';
import { RunsSection } from '../components/processes-runs.tsx';
import { ProcessesSection } from '../components/processes-table.tsx';
import type { PageProps } from '../page.ts';

/**
 * An environment's processes (scale each type, see its replicas), its cron
 * jobs (run one now, their recent runs) and one-off runs (start one, watch
 * its output live, cancel it). Everything updates from the change feed.
 */
export default function ProcessesPage(props: PageProps) {
  const app = props.params.app as string;
  const env = props.params.env as string;
  // The run whose output is shown: the one just started, or one picked in a list.
  const [watched, setWatched] = useState<string | null>(null);
  useEffect(() => setWatched(null), [app, env]);
  return (
    <>
      <AppNav app={app} tab="processes" env={env} />
      <ProcessesSection app={app} env={env} />
      <CronSection app={app} env={env} onWatch={setWatched} />
      <RunsSection app={app} env={env} watched={watched} onWatch={setWatched} />
    </>
  );
}
