import { LATENCY_BUCKETS } from '@pier/core';
import type { MetricTotals } from '@pier/db';

/**
 * The api's `/metrics` in Prometheus's text exposition format (version
 * 0.0.4), from what Postgres keeps: counters per app and environment (labels
 * `app`, `env`), replica gauges (plus `replica`, `process`), restarts per
 * process type, and the host's gauges (`node`). Pure, so the format is
 * checked in a table test.
 */
export function renderPrometheus(totals: MetricTotals): string {
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };

  family('pier_requests_total', 'counter', 'Requests the edge proxies answered, by app, environment and status class.');
  for (const r of totals.requests) {
    r.byClass.forEach((count, i) => {
      if (i > 0) lines.push(`pier_requests_total${labels({ app: r.app, env: r.env, code: `${i}xx` })} ${count}`);
    });
  }
  family('pier_request_duration_seconds', 'histogram', 'Time until the replica sent its response headers.');
  for (const r of totals.requests) {
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((bound, i) => {
      cumulative += r.latencyBuckets[i] ?? 0;
      lines.push(`pier_request_duration_seconds_bucket${labels({ app: r.app, env: r.env, le: String(bound) })} ${cumulative}`);
    });
    const count = r.latencyBuckets.reduce((sum, n) => sum + n, 0);
    lines.push(`pier_request_duration_seconds_bucket${labels({ app: r.app, env: r.env, le: '+Inf' })} ${count}`);
    lines.push(`pier_request_duration_seconds_sum${labels({ app: r.app, env: r.env })} ${r.latencySum}`);
    lines.push(`pier_request_duration_seconds_count${labels({ app: r.app, env: r.env })} ${count}`);
  }
  family('pier_request_bytes_total', 'counter', 'Bytes of requests (in) and responses (out) through the edge proxies.');
  for (const r of totals.requests) {
    lines.push(`pier_request_bytes_total${labels({ app: r.app, env: r.env, direction: 'in' })} ${r.bytesIn}`);
    lines.push(`pier_request_bytes_total${labels({ app: r.app, env: r.env, direction: 'out' })} ${r.bytesOut}`);
  }

  const replica = (r: MetricTotals['replicas'][number]) => ({
    app: r.app,
    env: r.env,
    process: r.processType,
    replica: r.replica,
  });
  family('pier_replica_cpu_seconds_total', 'counter', 'CPU time used by each replica seen in the last minutes.');
  for (const r of totals.replicas) lines.push(`pier_replica_cpu_seconds_total${labels(replica(r))} ${r.cpuSeconds}`);
  family('pier_replica_memory_bytes', 'gauge', 'Memory in use by each replica (without page cache), at its last sample.');
  for (const r of totals.replicas) lines.push(`pier_replica_memory_bytes${labels(replica(r))} ${r.memoryBytes}`);
  family('pier_replica_memory_limit_bytes', 'gauge', "Each replica's memory limit.");
  for (const r of totals.replicas) {
    if (r.memoryLimitBytes !== null) lines.push(`pier_replica_memory_limit_bytes${labels(replica(r))} ${r.memoryLimitBytes}`);
  }
  family('pier_replica_network_bytes_total', 'counter', 'Bytes each replica received (rx) and sent (tx).');
  for (const r of totals.replicas) {
    lines.push(`pier_replica_network_bytes_total${labels({ ...replica(r), direction: 'rx' })} ${r.rxBytes}`);
    lines.push(`pier_replica_network_bytes_total${labels({ ...replica(r), direction: 'tx' })} ${r.txBytes}`);
  }
  family('pier_restarts_total', 'counter', 'Replicas that ended without being asked, by process type.');
  for (const r of totals.restarts) {
    lines.push(`pier_restarts_total${labels({ app: r.app, env: r.env, process: r.processType })} ${r.restarts}`);
  }
  family('pier_oom_kills_total', 'counter', 'Replicas the kernel killed for going past their memory limit.');
  for (const r of totals.restarts) {
    lines.push(`pier_oom_kills_total${labels({ app: r.app, env: r.env, process: r.processType })} ${r.oomKills}`);
  }

  const gauges: [string, string, (h: MetricTotals['host'][number]) => number | null][] = [
    ['pier_host_cpu_busy_ratio', 'Share of all CPUs busy over the last sample interval, 0-1.', (h) => h.cpuBusy],
    ['pier_host_cpus', 'CPUs of the host.', (h) => h.cpus],
    ['pier_host_memory_total_bytes', 'Memory of the host.', (h) => h.memoryTotalBytes],
    ['pier_host_memory_available_bytes', 'Memory the kernel can hand out without swapping.', (h) => h.memoryAvailableBytes],
    ['pier_host_load1', 'Load average over 1 minute.', (h) => h.load1],
    ['pier_host_load5', 'Load average over 5 minutes.', (h) => h.load5],
    ['pier_host_load15', 'Load average over 15 minutes.', (h) => h.load15],
    ['pier_host_root_total_bytes', 'Size of the filesystem of /.', (h) => h.rootTotalBytes],
    ['pier_host_root_free_bytes', 'Free space of the filesystem of /.', (h) => h.rootFreeBytes],
    ['pier_host_docker_total_bytes', "Size of the filesystem of Docker's data root.", (h) => h.dockerTotalBytes],
    ['pier_host_docker_free_bytes', "Free space of the filesystem of Docker's data root.", (h) => h.dockerFreeBytes],
  ];
  for (const [name, help, value] of gauges) {
    family(name, 'gauge', help);
    for (const h of totals.host) {
      const v = value(h);
      if (v !== null) lines.push(`${name}${labels({ node: h.node })} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function labels(values: Readonly<Record<string, string>>): string {
  const parts = Object.entries(values).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return `{${parts.join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
