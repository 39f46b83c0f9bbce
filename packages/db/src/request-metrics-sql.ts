/**
 * The `on conflict … do update set` of request_metrics: a bucket added to the
 * row of the same environment, release, step and time sums its counters and
 * adds its latency histogram element by element. Shared by the proxy's sink
 * and the roll-up (a fixed text: no input in it).
 */
export const ADD_TO_REQUEST_METRICS = `
status_1xx = request_metrics.status_1xx + excluded.status_1xx,
status_2xx = request_metrics.status_2xx + excluded.status_2xx,
status_3xx = request_metrics.status_3xx + excluded.status_3xx,
status_4xx = request_metrics.status_4xx + excluded.status_4xx,
status_5xx = request_metrics.status_5xx + excluded.status_5xx,
bytes_in = request_metrics.bytes_in + excluded.bytes_in,
bytes_out = request_metrics.bytes_out + excluded.bytes_out,
latency_sum = request_metrics.latency_sum + excluded.latency_sum,
latency_buckets = array(
  select coalesce(old, 0) + coalesce(new, 0)
  from unnest(request_metrics.latency_buckets, excluded.latency_buckets) with ordinality as t(old, new, i)
  order by i
)`;
