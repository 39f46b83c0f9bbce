import { request } from 'node:http';
import type { RouteUpstream } from '@pier/core';

/** What one health check saw. */
export interface HealthCheckResult {
  ok: boolean;
  /** HTTP status, when the upstream answered. */
  status?: number;
  /** Why the check failed without a status: refused, reset, timed out. */
  error?: string;
  durationMs: number;
  checkedAt: Date;
}

/**
 * One health check from outside the container: `GET path` on a fresh
 * connection (no keep-alive, so a dead listener is noticed); 2xx and 3xx pass.
 */
export function probeUpstream(
  upstream: RouteUpstream,
  path: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<HealthCheckResult> {
  const checkedAt = new Date();
  const started = performance.now();
  const done = (fields: { ok: boolean; status?: number; error?: string }): HealthCheckResult => ({
    ...fields,
    durationMs: Math.round(performance.now() - started),
    checkedAt,
  });
  return new Promise((resolve) => {
    const req = request({
      host: upstream.host,
      port: upstream.port,
      path,
      method: 'GET',
      agent: false,
      signal,
      headers: { 'user-agent': 'pier-proxy-health', accept: '*/*', connection: 'close' },
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve(done({ ok: status >= 200 && status < 400, status }));
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        resolve(done({ ok: false, status, error: err.message }));
      });
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(done({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message }));
    });
    req.end();
  });
}
