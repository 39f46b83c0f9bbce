import { useEffect } from 'preact/hooks';
import { useResource } from '../hooks.ts';
import type { DiskView, HostPoint } from '../types-ops.ts';
import { Loaded, TimeAgo } from './ui.tsx';

/** The worker samples the host once a minute and host metrics have no table in the change feed: loaded again each minute. */
const HOST_REFRESH_MS = 60_000;

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A share as a labelled <meter> (the browser's own bar, announced with its value) and the figures beside it. */
function Gauge(props: { id: string; label: string; used: number; total: number; text: string; high?: number }) {
  const share = props.total > 0 ? props.used / props.total : 0;
  return (
    <div class="gauge">
      <label for={props.id}>{props.label}</label>
      <meter id={props.id} min={0} max={1} low={0.75} high={props.high ?? 0.9} optimum={0} value={share}>
        {Math.round(share * 100)} %
      </meter>
      <span>
        <strong>{Math.round(share * 100)} %</strong> {props.text}
      </span>
    </div>
  );
}

function Disk(props: { id: string; label: string; disk: DiskView }) {
  const used = props.disk.totalBytes - props.disk.freeBytes;
  return (
    <Gauge
      id={props.id}
      label={props.label}
      used={used}
      total={props.disk.totalBytes}
      text={`used: ${bytes(used)} of ${bytes(props.disk.totalBytes)}, ${bytes(props.disk.freeBytes)} free`}
    />
  );
}

/** The host's disks, memory, CPU and load from its newest sample (admin only). */
export function HostSection() {
  const metrics = useResource<{ points: HostPoint[] }>('/host/metrics?since=15m');
  const { reload } = metrics;
  useEffect(() => {
    const timer = setInterval(reload, HOST_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section aria-labelledby="host-heading" class="panel">
      <h2 id="host-heading">Host</h2>
      <Loaded resource={metrics}>
        {(data) => {
          const last = data.points.at(-1);
          if (!last) return <p class="muted">No sample in the last 15 minutes: the worker samples the host every minute.</p>;
          const memoryUsed = last.memoryTotalBytes - last.memoryAvailableBytes;
          return (
            <>
              <p class="muted">
                {last.node} · sampled <TimeAgo at={last.at} />
              </p>
              <div class="gauges">
                <Disk id="host-disk-root" label="Disk of /" disk={last.disks.root} />
                {last.disks.docker ? (
                  <Disk id="host-disk-docker" label="Disk of Docker's data root" disk={last.disks.docker} />
                ) : (
                  <p class="muted">Docker's data root: not measured.</p>
                )}
                <Gauge
                  id="host-memory"
                  label="Memory in use"
                  used={memoryUsed}
                  total={last.memoryTotalBytes}
                  text={`${bytes(last.memoryAvailableBytes)} available of ${bytes(last.memoryTotalBytes)}`}
                />
                <Gauge
                  id="host-cpu"
                  label="CPU busy"
                  used={last.cpuBusy}
                  total={1}
                  text={`of ${last.cpus} CPUs over the last minute`}
                  high={0.95}
                />
              </div>
              <p>
                Load average: <strong>{last.load.load1.toFixed(2)}</strong> (1 min), {last.load.load5.toFixed(2)} (5 min),{' '}
                {last.load.load15.toFixed(2)} (15 min) on {last.cpus} CPUs
              </p>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
