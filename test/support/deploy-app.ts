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

/** Host ports of an environment's serving replicas, from Postgres. */
export async function servingPorts(api: TestApi, app: string, env: string): Promise<number[]> {
  const rows = await api.database.sql<{ host_port: number }[]>`
    select r.host_port from replicas r
    join environments e on e.id = r.environment_id join apps a on a.id = e.app_id
    where a.name = ${app} and e.name = ${env} and r.state = 'serving' order by r.created_at`;
  return rows.map((r) => r.host_port);
}

export async function getText(port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}
