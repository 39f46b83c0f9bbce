/**
 * nginx, HAProxy and Caddy from Debian's packages, each a reverse proxy to the
 * bench's upstream as its documentation recommends for one: HTTP/1.1 with
 * keep-alive to the upstream (128 idle connections kept), access logs off,
 * X-Forwarded-For/-Proto/-Host and an X-Request-Id set as Pier sets them, on
 * as many processes or threads as Pier's proxy is measured with. Each runs in
 * the foreground in a temp directory of its own, on a loopback port, and is
 * ended by its PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, track, waitForPort } from './processes.ts';
import { HOST } from './shared.ts';

export type NativeProxyName = 'nginx' | 'haproxy' | 'caddy';
export const NATIVE_PROXIES: NativeProxyName[] = ['nginx', 'haproxy', 'caddy'];

export interface NativeProxy {
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** `worker_processes N`, `upstream { keepalive }` with HTTP/1.1 and an empty Connection header. */
export function nginxConfig(dir: string, port: number, upstreamPort: number, workers: number): string {
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
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
`;
}

/**
 * `nbthread N` in one process, `mode http` (keep-alive both ways is its
 * default), `http-reuse always` so idle upstream connections serve any
 * client, `option forwardfor`; no `log` line, so nothing is logged.
 */
export function haproxyConfig(port: number, upstreamPort: number, threads: number): string {
  return `global
  nbthread ${threads}
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 5s
  http-reuse always
  option forwardfor

frontend bench
  bind 127.0.0.1:${port}
  unique-id-format %[uuid()]
  unique-id-header X-Request-Id
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  default_backend app

backend app
  server app 127.0.0.1:${upstreamPort}
`;
}

/**
 * A Caddyfile: admin API and automatic HTTPS off, `reverse_proxy` (which sets
 * X-Forwarded-For/-Proto/-Host itself) keeping 128 idle upstream connections;
 * Caddy logs no requests unless told to. GOMAXPROCS is set in its environment.
 */
export function caddyfile(dir: string, port: number, upstreamPort: number): string {
  return `{
	admin off
	auto_https off
	storage file_system ${dir}/data
	log {
		level WARN
	}
}

http://:${port} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:${upstreamPort} {
		header_up X-Request-Id {http.request.uuid}
		transport http {
			keepalive 30s
			keepalive_idle_conns 256
			keepalive_idle_conns_per_host 128
		}
	}
}
`;
}

/** The command line and environment that start one proxy in the foreground from `dir`. */
function command(name: NativeProxyName, dir: string, port: number, upstreamPort: number, processes: number) {
  const path = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (name === 'nginx') {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(dir, port, upstreamPort, processes));
    return { file: 'nginx', args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'], env: path };
  }
  if (name === 'haproxy') {
    const conf = join(dir, 'haproxy.cfg');
    writeFileSync(conf, haproxyConfig(port, upstreamPort, processes));
    return { file: 'haproxy', args: ['-db', '-f', conf], env: path };
  }
  const conf = join(dir, 'Caddyfile');
  writeFileSync(conf, caddyfile(dir, port, upstreamPort));
  const env = { ...path, HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, GOMAXPROCS: String(processes) };
  return { file: 'caddy', args: ['run', '--config', conf, '--adapter', 'caddyfile'], env };
}

/** Starts `name` with `processes` workers (nginx), threads (HAProxy) or GOMAXPROCS (Caddy); its output goes to a log in its directory. */
export async function startNativeProxy(name: NativeProxyName, upstreamPort: number, processes: number): Promise<NativeProxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `pier-bench-${name}-`));
  const { file, args, env } = command(name, dir, port, upstreamPort, processes);
  const log = join(dir, 'output.log');
  const output = openSync(log, 'a');
  const child = track(spawn(file, args, { cwd: dir, env, stdio: ['ignore', output, output] }));
  const stop = async () => {
    await stopChild(child, name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`exited (${code})`))));
  exited.catch(() => {}); // once started, its exit is stop()'s business
  try {
    await Promise.race([waitForPort(port), exited]);
  } catch (err) {
    const said = readFileSync(log, 'utf8').trim().split('\n').slice(-10).join('\n');
    await stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${said}`);
  }
  return { port, child, stop };
}

/** The packaged versions the bench compares with, on one line. */
export function nativeVersions(): string {
  const firstLine = (file: string, args: string[]) => {
    const run = spawnSync(file, args, { encoding: 'utf8' });
    // nginx -v prints to stderr.
    const line = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] ?? '';
    return line.split(' - ')[0] || `${file}: not installed`; // HAProxy's ends with " - <its site>"
  };
  return [firstLine('nginx', ['-v']), firstLine('haproxy', ['-v']), `caddy ${firstLine('caddy', ['version'])}`].join(' · ');
}
