import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { TlsFixture } from './tls-fixture.ts';

/** A free TCP port on loopback (asked of the kernel, then let go). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Rsyslog {
  port: number;
  /** Lines written so far: `HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG` per received message. */
  received(): Promise<string[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Debian's rsyslogd, run by the test in the foreground on 127.0.0.1:`port`:
 * imtcp, over TLS when `tls` is given (the gtls driver, the fixture's
 * certificate, no client authentication), else plain TCP; every message
 * received over TCP is written to a file in `directory` with its RFC 5424
 * fields (rsyslogd's own messages are not).
 */
export async function rsyslogd(options: { directory: string; port: number; tls?: TlsFixture }): Promise<Rsyslog> {
  const { directory: dir, port, tls } = options;
  await mkdir(dir, { recursive: true });
  const output = join(dir, 'received.log');
  const config = join(dir, 'rsyslog.conf');
  const tlsGlobals = tls
    ? ` defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}"
  defaultNetstreamDriverKeyFile="${tls.keyFile}"`
    : '';
  const tlsModule = tls ? ' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"' : '';
  await writeFile(
    config,
    `global(workDirectory="${dir}"${tlsGlobals})
module(load="imtcp"${tlsModule})
input(type="imtcp" address="127.0.0.1" port="${port}")
template(name="fields" type="string" string="%HOSTNAME% %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%\\n")
if $inputname == "imtcp" then action(type="omfile" file="${output}" template="fields" asyncWriting="off" flushOnTXEnd="on")
`,
  );
  let child: ChildProcess | null = null;
  let stderr = '';
  const rsyslog: Rsyslog = {
    port,
    received: async () => {
      const text = await readFile(output, 'utf8').catch(() => '');
      return text.split('\n').filter((l) => l !== '');
    },
    start: async () => {
      await rm(join(dir, 'rsyslogd.pid'), { force: true });
      child = spawn('rsyslogd', ['-n', '-f', config, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      await waitForListener(port, () => (child?.exitCode !== null ? `rsyslogd exited: ${stderr}` : null));
    },
    stop: async () => {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
  };
  return rsyslog;
}

/** Waits (10 s at most) until something accepts connections on 127.0.0.1:`port`. */
async function waitForListener(port: number, failure: () => string | null): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const problem = failure();
    if (problem) throw new Error(problem);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 10 s`);
}
