import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** A colour of style.css (`--accent`, `--bad`…): read when drawn, so dark mode has its own. */
  color: string;
  /** Dashes, so that lines differ by more than colour. */
  dash?: number[];
}

const HEIGHT = 180;

const cssColor = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

function options(props: { series: readonly ChartSeries[]; format: (v: number) => string }, width: number): uPlot.Options {
  const muted = cssColor('--muted');
  const grid = { stroke: cssColor('--line'), width: 1 };
  const value = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : props.format(v));
  return {
    width,
    height: HEIGHT,
    padding: [8, 20, 0, 0],
    series: [
      {},
      ...props.series.map((s) => ({
        label: s.label,
        stroke: cssColor(s.color),
        width: 2,
        ...(s.dash ? { dash: s.dash } : {}),
        // Sparse values (a few buckets with requests) are dots: a lone point draws no line.
        points: { show: s.values.filter((v) => v !== null).length < 40, size: 5 },
        value,
      })),
    ],
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      // Room for "10:30pm" between ticks.
      { stroke: muted, grid, ticks: grid, space: 70 },
      {
        stroke: muted,
        grid,
        ticks: grid,
        values: (_u, ticks) => ticks.map((t) => props.format(t)),
        // As wide as its longest label (12 px font: about 7 px a character).
        size: (_u, values) => Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 20)),
      },
    ],
    cursor: { drag: { x: false, y: false } },
  };
}

/**
 * One metric over time, drawn by uPlot on a canvas that follows its container's width. The canvas is
 * hidden from assistive technology: the caption (`summary`) says what it shows; no data shows a sentence.
 */
export function MetricChart(props: {
  id: string;
  title: string;
  x: readonly number[];
  series: readonly ChartSeries[];
  format: (v: number) => string;
  summary: string;
  empty: boolean;
}) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const shape = props.series.map((s) => s.label).join('\n');
  const data = (): uPlot.AlignedData => [Float64Array.from(props.x), ...props.series.map((s) => s.values)];

  // The chart, made again when its series change; resized with its container.
  useEffect(() => {
    const el = holder.current;
    if (!el || props.empty) return;
    const chart = new uPlot(options(latest.current, Math.max(el.clientWidth, 200)), data(), el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      const width = Math.max(el.clientWidth, 200);
      if (width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape, props.empty]);

  useEffect(() => {
    plot.current?.setData(data());
  }, [props.x, props.series]);

  return (
    <figure class="panel metric" aria-labelledby={`${props.id}-title`} aria-describedby={`${props.id}-summary`}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      {props.empty ? <p class="metric-empty muted">No data yet.</p> : <div ref={holder} class="chart" aria-hidden="true" />}
      <figcaption id={`${props.id}-summary`}>{props.summary}</figcaption>
    </figure>
  );
}
