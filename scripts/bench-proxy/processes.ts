/** Starting and stopping the bench's processes: upstream, Pier's proxy, nginx. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DataPath, HOST, SELF, TSX_LOADER } from './shared.ts';

export const children = new Set<ChildProcess>();

export function startChild(
  args: string[],
  nodeFlags: string[] = [],
): { child: ChildProcess; message: <T>(type: string) => Promise<T> } {
  const child = spawn(process.execPath, [...nodeFlags, '--import', TSX_LOADER, SELF, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const message = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before sending ${type}`)));
    });
  return { child, message };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export async function startUpstream(workers: number): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const { child, message } = startChild(['upstream', String(port), String(workers)]);
  await message('ready');
  return { port, child };
}

/** Pier's proxy (`runProxy`); `metrics` is a JSON MetricsMode, counted as apps/proxy does without a database when absent. */
export async function startPier(dataPath: DataPath, upstreamPort: number, metrics?: string) {
  const port = await freePort();
  const args = ['proxy', dataPath, String(port), String(upstreamPort), ...(metrics ? [metrics] : [])];
  const { child, message } = startChild(args, ['--expose-gc']);
  await message('ready');
  const stats = async () => {
    const reply = message<{ rssMb: number; fds: number }>('stats');
    child.send({ type: 'stats' });
    return reply;
  };
  return { port, child, stats, switchTo: (upstreamPort: number) => child.send({ type: 'route', upstreamPort }) };
}

/** The bare node:http + undici pass-through (`runFloor`). */
export async function startFloor(upstreamPort: number) {
  const port = await freePort();
  const { child, message } = startChild(['floor', String(port), String(upstreamPort)]);
  await message('ready');
  return { port, child };
}

/** nginx from the Debian package, generated config in a temp prefix, 127.0.0.1 only, ended by its PID. */
export async function startNginx(
  upstreamPort: number,
  workers: number,
): Promise<{ port: number; child: ChildProcess; prefix: string }> {
  const port = await freePort();
  const prefix = mkdtempSync(join(tmpdir(), 'pier-bench-nginx-'));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  await waitForPort(port);
  return { port, child, prefix };
}
