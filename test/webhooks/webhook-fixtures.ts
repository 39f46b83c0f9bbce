import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { TestApi } from '../support/api.ts';
import type { TestWorker } from '../support/worker.ts';

/** An app name unique to this run and file, so that Docker labels never collide with another file's. */
export function uniqueAppName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A well-formed commit id that no repository has: for tests that never build. */
export function fakeSha(seed: string | number): string {
  return createHash('sha1').update(String(seed)).digest('hex');
}

export interface CreatedApp {
  name: string;
  secret: string;
  body: Record<string, any>;
}

/** Creates an app (with production and staging) through the API and returns its one-time webhook secret. */
export async function createApp(
  api: TestApi,
  name: string,
  repository?: { fullName: string; cloneUrl: string },
): Promise<CreatedApp> {
  const res = await api.request({ method: 'POST', url: '/apps', payload: { name, ...(repository ? { repository } : {}) } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return { name, secret: body.webhookSecret, body };
}

/** A webhook request with the raw bytes and headers given as they are: for tampered bodies and odd headers. */
export function sendRawWebhook(
  app: FastifyInstance,
  options: { event: string; body: Buffer | string; signature?: string; deliveryId?: string; contentType?: string },
) {
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/json',
    'x-github-event': options.event,
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (options.signature !== undefined) headers['x-hub-signature-256'] = options.signature;
  return app.inject({ method: 'POST', url: '/webhooks/github', headers, payload: options.body });
}

/** Row counts of the tables a webhook or a deploy request writes. */
export async function rowCounts(api: TestApi) {
  const [row] = await api.database.sql<{ deployments: number; outbox: number; deliveries: number; events: number }[]>`
    select (select count(*)::int from deployments) as deployments,
           (select count(*)::int from outbox) as outbox,
           (select count(*)::int from webhook_deliveries) as deliveries,
           (select count(*)::int from deployment_events) as events`;
  if (!row) throw new Error('no counts');
  return row;
}

/** Polls GET /deployments/:id until its state is one of `states`. */
export async function waitForState(api: TestApi, id: string, states: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request({ method: 'GET', url: `/deployments/${id}` });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${body.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Stops the worker and removes what Pier made in Docker for these apps (found by
 * their `pier.app` label only): containers, networks, then images.
 */
export async function stopWorkerAndRemoveDockerObjects(worker: TestWorker | undefined, appNames: string[]): Promise<void> {
  if (!worker) return;
  await worker.stop();
  const docker = worker.docker.docker;
  for (const name of appNames) {
    const filters = JSON.stringify({ label: [`pier.app=${name}`] });
    for (const c of await docker.listContainers({ all: true, filters })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    }
    for (const n of await docker.listNetworks({ filters })) {
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
    }
    for (const image of await worker.docker.listImages({ 'pier.app': name })) {
      await worker.docker.removeImage(image.imageId).catch(() => {});
    }
  }
}

/**
 * An app for tests that build: its environments run no replicas, because the
 * images these tests build only print. Whatever the deploy phase does after a
 * build, it then has nothing to start.
 */
export async function createBuildApp(api: TestApi, name: string, repository: { fullName: string; cloneUrl: string }) {
  const app = await createApp(api, name, repository);
  for (const env of ['staging', 'production']) {
    const res = await api.request({ method: 'PATCH', url: `/apps/${name}/environments/${env}`, payload: { replicas: 0 } });
    expect(res.statusCode, res.body).toBe(200);
  }
  return app;
}

/** States after which a deployment's build phase is over. */
export const BUILD_OVER = ['deploying', 'live', 'failed', 'cancelled', 'superseded'];

/** Waits until the build phase of a deployment is over and returns it. */
export function waitForBuildOver(api: TestApi, id: string, timeoutMs = 120_000) {
  return waitForState(api, id, BUILD_OVER, timeoutMs);
}

/**
 * Checks that a deployment's build produced its image: it went from building to
 * deploying. Its state now is the deploy phase's business (deploying, live, or
 * superseded by a newer release), so it is not checked here.
 */
export function expectBuilt(deployment: Record<string, any>): void {
  expect(deployment.events.map((e: { from: string | null; to: string }) => `${e.from}->${e.to}`)).toContain(
    'building->deploying',
  );
  expect(deployment.image?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(deployment.buildFinishedAt).not.toBeNull();
}

/** A Dockerfile on the local Debian base image: builds in a second or two, never pulls. */
export function tinyDockerfile(...runLines: string[]): string {
  return ['FROM pier-local/debian:bookworm', ...runLines.map((line) => `RUN ${line}`), ''].join('\n');
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
  /** When this process received it (Date.now()). */
  receivedAt: number;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Resolves with every event once the server ends the stream. */
  events: Promise<SseEvent[]>;
  /** Called with each event as it arrives. */
  onEvent(listener: (event: SseEvent) => void): void;
  close(): void;
}

/** Opens a Server-Sent Events stream with fetch over real HTTP and parses it as it arrives. */
export async function openSse(url: string, headers: Record<string, string>, timeoutMs = 60_000): Promise<SseStream> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`SSE ${url} still open after ${timeoutMs} ms`)), timeoutMs);
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const listeners: ((event: SseEvent) => void)[] = [];
  const read = async (): Promise<SseEvent[]> => {
    const events: SseEvent[] = [];
    if (!res.body) return events;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseSseBlock(block);
          if (!event) continue;
          events.push(event);
          for (const listener of listeners) listener(event);
        }
      }
    } finally {
      clearTimeout(timer);
    }
    return events;
  };
  return {
    status: res.status,
    headers: res.headers,
    events: read(),
    onEvent: (listener) => listeners.push(listener),
    close: () => abort.abort(),
  };
}

function parseSseBlock(block: string): SseEvent | undefined {
  const event: SseEvent = { event: 'message', data: '', receivedAt: Date.now() };
  let hasField = false;
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    hasField = true;
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') event.data = event.data ? `${event.data}\n${value}` : value;
  }
  return hasField ? event : undefined;
}
