import { request } from 'node:http';
import { connect } from 'node:net';
import {
  answerFromError,
  describeAnswers,
  type HealthCheckPath,
  nextHealthStep,
  nothingListened,
  type ProbeAnswer,
} from '@pier/core';

/** What one health check saw. */
export interface HealthCheckResult {
  ok: boolean;
  /** The last HTTP status, when the upstream answered. */
  status?: number;
  /** Why the last attempt failed without a status: refused, reset, timed out. */
  error?: string;
  /** Nothing listened: every attempt was refused, or closed before any answer. */
  refused: boolean;
  /** The answers in a few words: `503 Service Unavailable`, `/health 404 Not Found, / 200 OK`, `ECONNREFUSED`. */
  detail: string;
  durationMs: number;
  checkedAt: Date;
}

/** Where to check: the address the runtime reported. */
export interface ProbeAddress {
  host: string;
  port: number;
}

export interface HealthProbeOptions {
  /** A path, `tcp`, or null: automatic (see @pier/core health-check.ts). */
  check: HealthCheckPath;
  /** The `Host` header: the environment's own hostname, for apps that check it. Absent: the address. */
  hostname?: string;
  /** The whole check (both requests of the automatic one) fails without a verdict by then. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A connection closed by the other side within this long after it opened was never served (Docker's proxy does that). */
const TCP_HOLD_MS = 250;

/**
 * One health check from outside the container, as the gate of a new replica
 * and the edge proxy's poller both make it: each request on a fresh
 * connection (no keep-alive, so a dead listener is noticed), redirects never
 * followed; the verdict is `nextHealthStep`'s.
 */
export async function probeUpstream(address: ProbeAddress, options: HealthProbeOptions): Promise<HealthCheckResult> {
  const checkedAt = new Date();
  const started = performance.now();
  const answers: ProbeAnswer[] = [];
  for (;;) {
    const step = nextHealthStep(options.check, answers);
    if (step.kind === 'verdict') {
      const last = answers.at(-1);
      return {
        ok: step.ok,
        ...(last?.kind === 'status' ? { status: last.status } : {}),
        ...(last?.kind === 'refused' || last?.kind === 'failed' ? { error: last.detail } : {}),
        refused: nothingListened(answers),
        detail: describeAnswers(options.check, answers),
        durationMs: Math.round(performance.now() - started),
        checkedAt,
      };
    }
    const remainingMs = Math.max(1, options.timeoutMs - (performance.now() - started));
    answers.push(
      step.kind === 'get'
        ? await httpAnswer(address, step.path, { ...options, timeoutMs: remainingMs })
        : await tcpAnswer(address, { ...options, timeoutMs: remainingMs }),
    );
  }
}

/** `GET path`: the status once the whole answer arrived. */
function httpAnswer(address: ProbeAddress, path: string, options: HealthProbeOptions): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const req = request({
      host: address.host,
      port: address.port,
      path,
      method: 'GET',
      agent: false,
      signal: options.signal,
      headers: {
        ...(options.hostname ? { host: options.hostname } : {}),
        'user-agent': 'pier-health',
        accept: '*/*',
        connection: 'close',
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`timed out after ${Math.round(options.timeoutMs)} ms`)),
      options.timeoutMs,
    );
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ kind: 'status', status, ...(res.statusMessage ? { text: res.statusMessage } : {}) });
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        resolve({ kind: 'failed', detail: `${status}, then ${err.message}` });
      });
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(answerFromError(err));
    });
    req.end();
  });
}

/** A TCP connection: open when it stays open a moment (or the server speaks first). */
function tcpAnswer(address: ProbeAddress, options: HealthProbeOptions): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port, signal: options.signal });
    const settle = (answer: ProbeAnswer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    let timer = setTimeout(
      () => settle({ kind: 'failed', detail: `timed out after ${Math.round(options.timeoutMs)} ms` }),
      options.timeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => settle({ kind: 'open' }), Math.min(TCP_HOLD_MS, options.timeoutMs));
    });
    socket.once('data', () => settle({ kind: 'open' }));
    socket.once('end', () => settle({ kind: 'refused', detail: 'closed at once' }));
    socket.once('error', (err: NodeJS.ErrnoException) => settle(answerFromError(err)));
  });
}
