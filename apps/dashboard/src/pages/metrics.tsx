import { useEffect, useMemo, useState } from 'preact/hooks';
import { path, query } from '../api.ts';
import { AppNav } from '../components/app-nav.tsx';
import { type ChartSeries, MetricChart } from '../components/metrics-chart.tsx';
import {
  bytes,
  columns,
  cores,
  latestAndPeak,
  type MetricColumns,
  millis,
  percent,
  rate,
  short,
} from '../components/metrics-series.tsx';
import { Loaded } from '../components/ui.tsx';
import { useResource, useTick } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import type { EnvironmentMetrics } from '../types-observe.ts';

/** Each range with a step that keeps it near the API's default of ~120 buckets (and far under its 2,000). */
const RANGES = {
  hour: { label: 'Last hour', since: '1h', step: 60, words: 'the last hour' },
  day: { label: 'Last day', since: '24h', step: 600, words: 'the last day' },
  week: { label: 'Last week', since: '7d', step: 3600, words: 'the last week' },
} as const;
type Range = keyof typeof RANGES;

/** Metrics have no table in the change feed: they are read again once a minute (the proxy and collector write about that often). */
const REFRESH_MS = 60_000;

const PALETTE = ['--accent', '--warn', '--ok', '--bad', '--busy'];
const DASHES = [undefined, [6, 4], [2, 3], [10, 3, 2, 3]];

/** An environment's request rate, latency, 5xx share, CPU and memory over the last hour, day or week. */
export default function MetricsPage(props: PageProps) {
  const app = props.params.app as string;
  const env = props.params.env as string;
  const [range, setRange] = useState<Range>('hour');
  const { since, step } = RANGES[range];
  const metrics = useResource<EnvironmentMetrics>(path`/apps/${app}/environments/${env}/metrics` + query({ since, step }));
  const tick = useTick(REFRESH_MS);
  useEffect(() => {
    if (tick > 0) metrics.reload();
  }, [tick]);

  return (
    <>
      <AppNav app={app} tab="metrics" env={env} />
      <h2>Metrics of {env}</h2>
      <fieldset class="actions metrics-range">
        <legend class="muted">Time range</legend>
        {(Object.keys(RANGES) as Range[]).map((r) => (
          <button
            key={r}
            type="button"
            aria-pressed={r === range}
            class={r === range ? 'primary' : ''}
            onClick={() => setRange(r)}
          >
            {RANGES[r].label}
          </button>
        ))}
        <span class="muted">Read again every minute.</span>
      </fieldset>
      <Loaded resource={metrics}>{(data) => <Charts data={data} words={RANGES[range].words} />}</Loaded>
    </>
  );
}

function Charts(props: { data: EnvironmentMetrics; words: string }) {
  const c = useMemo(() => columns(props.data), [props.data]);
  return (
    <div class="grid metrics-grid">
      <RequestCharts c={c} words={props.words} />
      <UseChart id="chart-cpu" title="CPU (cores)" c={c} of={c.cpu} format={short} summaryFormat={cores} words={props.words} />
      <UseChart id="chart-memory" title="Memory" c={c} of={c.memory} format={bytes} summaryFormat={bytes} words={props.words} />
    </div>
  );
}

function RequestCharts(props: { c: MetricColumns; words: string }) {
  const { c, words } = props;
  const none = c.requests === 0;
  const perSecond = latestAndPeak(c.perSecond);
  const latest = (values: (number | null)[]) => {
    const v = latestAndPeak(values).latest;
    return v === null ? '–' : millis(v);
  };
  const errors = latestAndPeak(c.errorPercent);
  return (
    <>
      <MetricChart
        id="chart-requests"
        title="Requests per second"
        x={c.x}
        series={[{ label: 'requests/s', values: c.perSecond, color: '--accent' }]}
        format={short}
        empty={none}
        summary={
          none
            ? `No requests in ${words}.`
            : `${c.requests} requests in ${words}; latest ${rate(perSecond.latest ?? 0)}, peak ${rate(perSecond.peak ?? 0)}.`
        }
      />
      <MetricChart
        id="chart-latency"
        title="Latency"
        x={c.x}
        series={[
          { label: 'p50', values: c.p50, color: '--accent' },
          { label: 'p95', values: c.p95, color: '--warn', dash: [6, 4] },
          { label: 'p99', values: c.p99, color: '--bad', dash: [2, 3] },
        ]}
        format={millis}
        empty={none}
        summary={none ? `No requests in ${words}.` : `Latest p50 ${latest(c.p50)}, p95 ${latest(c.p95)}, p99 ${latest(c.p99)}.`}
      />
      <MetricChart
        id="chart-errors"
        title="5xx share"
        x={c.x}
        series={[{ label: '5xx', values: c.errorPercent, color: '--bad' }]}
        format={percent}
        empty={none}
        summary={
          none
            ? `No requests in ${words}.`
            : `${percent((c.errors / c.requests) * 100)} of requests answered 5xx in ${words} (${c.errors} of ${c.requests}); latest ${percent(errors.latest ?? 0)}.`
        }
      />
    </>
  );
}

function UseChart(props: {
  id: string;
  title: string;
  c: MetricColumns;
  of: { type: string; values: (number | null)[] }[];
  format: (v: number) => string;
  summaryFormat: (v: number) => string;
  words: string;
}) {
  const series: ChartSeries[] = props.of.map((p, i) => ({
    label: p.type,
    values: p.values,
    color: PALETTE[i % PALETTE.length] as string,
    ...(DASHES[i % DASHES.length] ? { dash: DASHES[i % DASHES.length] as number[] } : {}),
  }));
  const summary =
    props.of.length === 0
      ? `No replica measured in ${props.words}.`
      : props.of
          .map((p) => {
            const { latest, peak } = latestAndPeak(p.values);
            return `${p.type}: latest ${props.summaryFormat(latest ?? 0)}, peak ${props.summaryFormat(peak ?? 0)}`;
          })
          .join('; ')
          .concat('.');
  return (
    <MetricChart
      id={props.id}
      title={props.title}
      x={props.c.x}
      series={series}
      format={props.format}
      empty={props.of.length === 0}
      summary={summary}
    />
  );
}
