import type { DockerRuntime } from '@pier/docker';
import { expect } from 'vitest';
import type { TestApi } from './api.ts';

/**
 * A tiny app image: answers its version on `/`, `/health` with `healthStatus`
 * (default 200), `/slow?ms=N` after N ms; after a request to `/sicken` its
 * health check fails for good while the process keeps serving.
 */
export function versionedApp(version: string, healthStatus = 200): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY server.js .\nCMD ["node", "server.js"]\n',
    'server.js': `
const http = require('http');
let sick = false;
const server = http.createServer((req, res) => {
  if (req.url === '/sicken') { sick = true; return res.end('sick'); }
  if (req.url === '/health') { res.statusCode = sick ? 500 : ${healthStatus}; return res.end('health'); }
  if (req.url.startsWith('/slow')) { return setTimeout(() => res.end('${version}-slow'), Number(req.url.split('=')[1] || 3000)); }
  res.end('${version}');
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

/** Polls a deployment until it reaches one of `states`. */
export async function waitForDeployment(api: TestApi, id: string, states: string[], timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await api.request({ method: 'GET', url: `/deployments/${id}` })).json();
    if (states.includes(body.state)) return body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} is still ${body.state}: ${body.reason ?? ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Ports of an environment's serving replicas, from Postgres (on one Docker Engine their host is loopback). */
export async function servingPorts(api: TestApi, app: string, env: string): Promise<number[]> {
  const rows = await api.database.sql<{ port: number }[]>`
    select r.port from replicas r
    join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
    where a.name = ${app} and e.name = ${env} and r.state = 'serving' order by r.created_at`;
  return rows.map((r) => r.port);
}

export async function getText(port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

export interface FastAppOptions {
  name: string;
  fullName: string;
  cloneUrl: string;
  replicas: number;
  drainTimeoutMs: number;
  /** How long a new replica gets to pass its health check. */
  deadlineMs?: number;
}

/**
 * Creates an app whose staging environment rolls out quickly: health polled
 * every 500 ms, one good answer enough. Returns the webhook secret.
 */
export async function createFastApp(api: TestApi, options: FastAppOptions): Promise<string> {
  const res = await api.request({
    method: 'POST',
    url: '/apps',
    payload: { name: options.name, repository: { fullName: options.fullName, cloneUrl: options.cloneUrl } },
  });
  expect(res.statusCode).toBe(201);
  const patch = await api.request({
    method: 'PATCH',
    url: `/apps/${options.name}/environments/staging`,
    payload: {
      replicas: options.replicas,
      drainTimeoutMs: options.drainTimeoutMs,
      healthCheck: { intervalMs: 500, timeoutMs: 1000, healthyThreshold: 1, deadlineMs: options.deadlineMs ?? 15_000 },
    },
  });
  expect(patch.statusCode).toBe(200);
  return res.json().webhookSecret as string;
}

/** Removes an app's replicas, images and staging network from Docker. */
export async function removeAppFromDocker(docker: DockerRuntime, app: string): Promise<void> {
  for (const c of await docker.listContainers({ 'pier.app': app }).catch(() => []))
    await docker.removeContainer(c.id).catch(() => {});
  for (const image of await docker.listImages({ 'pier.app': app }).catch(() => []))
    await docker.removeImage(image.imageId).catch(() => {});
  await docker.removeNetwork(`pier-${app}-staging`).catch(() => {});
}
