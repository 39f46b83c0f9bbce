import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { LABEL_APP } from '@pier/core';
import { logsRequest } from './docker-read-request.ts';

/** The inspect answer is read up to this size (a container's JSON is a few KB). */
const MAX_INSPECT_BYTES = 4 * 1024 * 1024;
const INSPECT_TIMEOUT_MS = 10_000;
/** rw for the worker's user and group, nothing for others. */
const SOCKET_MODE = 0o660;

export interface DockerReadSocketOptions {
  /** Where to listen: a Unix socket path (its directory is created if missing). */
  path: string;
  /** The Engine's own socket, where the allowed calls go. */
  dockerSocket: string;
  /** Labels (and values) a container must carry, besides `pier.app`, for its logs to be read: this installation's. */
  labels: Record<string, string>;
  /** Told about every refused request (not its query), e.g. to log it. */
  onRefused?: (refusal: { method: string; path: string; status: number; reason: string }) => void;
}

/**
 * A Docker Engine API socket for a process that only reads container logs
 * (the api): it answers `GET /containers/{id}/logs` for containers carrying
 * `pier.app` and `labels` (checked by inspecting the container first, and
 * then reading the logs of the inspected id, so a renamed container cannot
 * slip in between) and 403 to every other call (see `logsRequest`). The
 * request sent to the Engine is built here, from the checked container id
 * and query: no header, body or path of the client's reaches the Engine.
 * Logs stream through as the Engine sends them (follow included).
 *
 * The Engine's socket is root-equivalent; this one reads what the api may
 * already show. The worker serves it, since it holds the Engine's socket.
 */
export class DockerReadSocket {
  readonly #options: DockerReadSocketOptions;
  readonly #server: Server;

  constructor(options: DockerReadSocketOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      this.answer(req, res).catch((error: unknown) =>
        fail(res, 502, `the Engine could not be asked: ${(error as Error).message}`),
      );
    });
  }

  /** Listens at `path` (mode 660), replacing a socket nothing serves; throws when another process serves it. */
  async start(): Promise<void> {
    const { path } = this.#options;
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, SOCKET_MODE);
  }

  /** Stops listening (the socket file goes) and ends open log streams. */
  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const allowed = logsRequest(req.method, req.url);
    if ('refused' in allowed) return this.refuse(req, res, 403, allowed.refused);
    const inspected = await this.inspect(allowed.container);
    if (inspected.status === 404) return fail(res, 404, `No such container: ${allowed.container}`);
    if (inspected.status !== 200 || !inspected.container) {
      return fail(res, 502, `inspecting the container failed (status ${inspected.status})`);
    }
    const { Id, Config } = inspected.container;
    const labels = Config?.Labels ?? {};
    const foreign = !labels[LABEL_APP] || Object.entries(this.#options.labels).some(([key, value]) => labels[key] !== value);
    if (foreign || !/^[0-9a-f]{64}$/.test(Id)) {
      return this.refuse(req, res, 403, `container ${allowed.container} is not one of this Pier installation's`);
    }
    this.forward(`/containers/${Id}/logs${allowed.query ? `?${allowed.query}` : ''}`, res);
  }

  private refuse(req: IncomingMessage, res: ServerResponse, status: number, reason: string): void {
    this.#options.onRefused?.({ method: req.method ?? '?', path: (req.url ?? '').split('?')[0] ?? '', status, reason });
    fail(res, status, reason);
  }

  /** `GET /containers/{id}/json`: its status and, when 200, the parts needed here. */
  private inspect(container: string): Promise<{ status: number; container?: InspectedContainer }> {
    return new Promise((resolve, reject) => {
      const upstream = request(
        {
          socketPath: this.#options.dockerSocket,
          method: 'GET',
          path: `/containers/${container}/json`,
          timeout: INSPECT_TIMEOUT_MS,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_INSPECT_BYTES) upstream.destroy(new Error('the inspect answer is too large'));
            else chunks.push(chunk);
          });
          answer.on('error', reject);
          answer.on('end', () => {
            const status = answer.statusCode ?? 0;
            if (status !== 200) return resolve({ status });
            try {
              resolve({ status, container: JSON.parse(Buffer.concat(chunks).toString('utf8')) as InspectedContainer });
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${INSPECT_TIMEOUT_MS} ms`)));
      upstream.on('error', reject);
      upstream.end();
    });
  }

  /** Streams the Engine's answer to `path` to the client; either side closing closes the other. */
  private forward(path: string, res: ServerResponse): void {
    const upstream = request({ socketPath: this.#options.dockerSocket, method: 'GET', path }, (answer) => {
      const type = answer.headers['content-type'];
      res.writeHead(answer.statusCode ?? 502, type ? { 'content-type': type } : {});
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (error) => {
      if (res.headersSent) res.destroy();
      else fail(res, 502, `the Engine could not be asked: ${error.message}`);
    });
    res.on('close', () => upstream.destroy());
    upstream.end();
  }
}

interface InspectedContainer {
  Id: string;
  Config?: { Labels?: Record<string, string> | null };
}

/** An Engine-style error answer: `{ "message": … }`, which Docker clients show. */
function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify({ message })}\n`);
}

/** Removes a socket left by a process that died; refuses a path that is not a socket or that something serves. */
async function removeStaleSocket(path: string): Promise<void> {
  const stats = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (!stats) return;
  if (!stats.isSocket()) throw new Error(`${path} exists and is not a socket`);
  const served = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (served) throw new Error(`another process serves ${path}`);
  await unlink(path);
}
