import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type Dockerode from 'dockerode';

const run = promisify(execFile);

/**
 * Debian's `docker-registry` (installed by scripts/services.sh), started by a
 * test on 127.0.0.1 with TLS (a self-signed certificate made here) and
 * htpasswd authentication, which the registry accepts only over TLS. Docker
 * treats registries on 127.0.0.0/8 as insecure: it speaks TLS to this one
 * without checking the certificate, so nothing is installed in /etc/docker.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, the registry part of references. */
  host: string;
  username: string;
  password: string;
  /** Builds `dockerfile` (no network, no Pier labels: an image built elsewhere), pushes it as `<host>/<path>`, removes the local copy. */
  pushBuilt(path: string, dockerfile: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestRegistry(docker: Dockerode): Promise<TestRegistry> {
  const directory = await mkdtemp(join(tmpdir(), 'pier-registry-'));
  const username = 'ci';
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const certificate = ['-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem')];
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...subject, ...certificate]);
  await writeFile(join(directory, 'htpasswd'), await htpasswdLine(username, password));
  await writeFile(join(directory, 'config.yml'), registryConfig(directory, host));
  const child = spawn('docker-registry', ['serve', join(directory, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilServing(port, child);
  } catch (error) {
    await stopProcess(child, exited);
    await rm(directory, { recursive: true, force: true });
    throw new Error(`docker-registry did not start: ${(error as Error).message}\n${stderr}`);
  }
  const authconfig = { username, password, serveraddress: host };
  return {
    host,
    username,
    password,
    async pushBuilt(path, dockerfile) {
      const reference = `${host}/${path}`;
      const context = await mkdtemp(join(tmpdir(), 'pier-prebuilt-'));
      try {
        await writeFile(join(context, 'Dockerfile'), dockerfile);
        const built = (await docker.buildImage(
          { context, src: ['Dockerfile'] },
          { t: reference, networkmode: 'none', rm: true, forcerm: true },
        )) as unknown as Readable;
        await followToEnd(docker, built);
        await followToEnd(docker, (await docker.getImage(reference).push({ authconfig })) as unknown as Readable);
        await docker.getImage(reference).remove();
        return reference;
      } finally {
        await rm(context, { recursive: true, force: true });
      }
    },
    async stop() {
      await stopProcess(child, exited);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function registryConfig(directory: string, host: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(directory, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '  tls:',
    `    certificate: ${join(directory, 'cert.pem')}`,
    `    key: ${join(directory, 'key.pem')}`,
    'auth:',
    '  htpasswd:',
    '    realm: pier-test',
    `    path: ${join(directory, 'htpasswd')}`,
    '',
  ].join('\n');
}

/** A bcrypt htpasswd line (the only hash the registry accepts), the password given on stdin. */
async function htpasswdLine(username: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('htpasswd', ['-iBn', username], (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin?.end(`${password}\n`);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `GET /v2/` until the registry answers (401: it wants credentials), for at most 15 s. */
async function waitUntilServing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const status = await new Promise<number | null>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/v2/', rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? null);
      });
      req.on('error', () => resolve(null));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 401) return;
    if (Date.now() > deadline) throw new Error(`no answer on port ${port} within 15 s (last status ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stops the registry this helper started, by its PID: SIGTERM, then SIGKILL after 5 s. */
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Reads a build or push progress stream; an error in it rejects. */
async function followToEnd(docker: Dockerode, stream: Readable): Promise<void> {
  const events = await new Promise<{ error?: string }[]>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) =>
      error ? reject(error) : resolve(output),
    ),
  );
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(failed.error);
}

/** A tiny HTTP app on Debian's perl (no network needed to build it), with `size` bytes of its own random data. */
export function perlAppDockerfile(answer: string, sizeBytes = 8 * 1024 * 1024): string {
  const server = [
    'use IO::Socket::INET;',
    '$SIG{TERM} = sub { exit 0 };',
    'my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $ENV{PORT} || 8080, Listen => 16, ReuseAddr => 1) or die $!;',
    'while (my $c = $s->accept) {',
    '  while (my $l = <$c>) { last if $l =~ /^\\r?\\n$/ }',
    `  my $b = "${answer}";`,
    '  print $c "HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: " . length($b) . "\\r\\nConnection: close\\r\\n\\r\\n$b";',
    '  close $c;',
    '}',
  ].join('\n');
  return [
    'FROM pier-local/debian:bookworm',
    `RUN head -c ${sizeBytes} /dev/urandom > /blob`,
    `RUN printf '%s' '${Buffer.from(server).toString('base64')}' | base64 -d > /server.pl`,
    'CMD ["perl", "/server.pl"]',
    '',
  ].join('\n');
}
