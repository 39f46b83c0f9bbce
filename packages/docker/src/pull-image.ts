import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BuildError, type PulledImage, type PullRequest, parseImageReference, pullArguments } from '@pier/core';
import type Dockerode from 'dockerode';
import { BuildDeadline } from './build-deadline.ts';
import { engineMessage, isStatus } from './engine-errors.ts';
import { pullFailureReason } from './pull-errors.ts';

/** One message of the Engine's JSON progress stream (`POST /images/create`, `POST /build`). */
interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * `ContainerRuntime.pullImage` over the Engine API: pulls the reference (the
 * credentials go in the X-Registry-Auth header, never into a URL or a line),
 * then keeps it as Pier's own: a config-only build `FROM <pulled id>` whose
 * labels come from the request (as query parameters, never Dockerfile text)
 * and whose tag is the request's, on no network. The reference's own tag is
 * removed when the pull created it, so the kept image is the only name of its
 * layers and removing it frees them.
 */
export async function pullImage(
  docker: Dockerode,
  request: PullRequest,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<PulledImage> {
  const reference = parseImageReference(request.reference);
  const { fromImage, tag } = pullArguments(reference);
  const pulledName = reference.digest ? `${fromImage}@${reference.digest}` : `${fromImage}:${tag}`;
  const deadline = new BuildDeadline(request.timeoutMs, signal);
  const stopped = (): BuildError =>
    new BuildError(
      deadline.reason === 'timeout' ? `pull timed out after ${Math.round(request.timeoutMs / 1000)} s` : 'pull cancelled',
    );
  try {
    if (deadline.reason) throw stopped();
    const existed = await imageExists(docker, pulledName);
    onLine(`pulling ${request.reference}${request.auth ? ` as ${request.auth.username}` : ''}`);
    const auth = request.auth
      ? { username: request.auth.username, password: request.auth.password, serveraddress: request.auth.server }
      : undefined;
    const attempt = { reference: request.reference, registry: reference.registry, authSent: request.auth !== null };
    let digest: string | null = null;
    try {
      const stream = (await docker.createImage(auth, { fromImage, tag, abortSignal: deadline.signal })) as Readable;
      await followProgress(stream, deadline.signal, (event) => {
        const line = progressLine(event);
        if (!line) return;
        digest = /^Digest: (sha256:[a-f0-9]{64})$/.exec(event.status ?? '')?.[1] ?? digest;
        onLine(line);
      });
    } catch (error) {
      if (deadline.reason) throw stopped();
      const reason = pullFailureReason(error instanceof ProgressError ? error.message : engineMessage(error), attempt);
      onLine(reason);
      throw new BuildError(`pull failed: ${reason}`);
    }
    const pulled = await docker.getImage(pulledName).inspect();
    try {
      const imageId = await keepAsPiers(docker, pulled.Id, request, deadline.signal);
      onLine(`kept as ${request.tag} (${imageId})`);
      return { imageId, pulledId: pulled.Id, tag: request.tag, digest };
    } finally {
      // The kept image holds the layers now (or the pull is abandoned): a name the pull made goes.
      if (!existed && !reference.digest) await untag(docker, pulledName);
    }
  } catch (error) {
    if (error instanceof BuildError) throw error;
    if (deadline.reason) throw stopped();
    throw new BuildError(`pull failed: ${engineMessage(error)}`, [], { cause: error });
  } finally {
    deadline.dispose();
  }
}

/** A config-only image FROM `pulledId` with the request's labels and tag; its id. */
async function keepAsPiers(docker: Dockerode, pulledId: string, request: PullRequest, signal: AbortSignal): Promise<string> {
  const context = await mkdtemp(join(tmpdir(), 'pier-pulled-'));
  try {
    await writeFile(join(context, 'Dockerfile'), `FROM ${pulledId}\n`);
    const stream = (await docker.buildImage(
      { context, src: ['Dockerfile'] },
      {
        t: request.tag,
        labels: { ...request.labels },
        networkmode: 'none',
        pull: false,
        rm: true,
        forcerm: true,
        abortSignal: signal,
      },
    )) as unknown as Readable;
    let built: string | undefined;
    await followProgress(stream, signal, (event) => {
      built = event.aux?.ID ?? built;
    });
    if (!built) throw new BuildError('pull failed: the Engine did not report the labelled image');
    return built;
  } catch (error) {
    if (error instanceof BuildError || signal.aborted) throw error;
    throw new BuildError(`pull failed: labelling the pulled image failed: ${engineMessage(error)}`, [], { cause: error });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** A line for the deployment's log: statuses, not the byte counters of each layer. */
export function progressLine(event: ProgressEvent): string | null {
  if (!event.status || event.progress) return null;
  if (/^(Downloading|Extracting|Waiting|Verifying Checksum)$/.test(event.status)) return null;
  return event.id && !event.status.startsWith(event.id) ? `${event.id}: ${event.status}` : event.status;
}

/** An error the Engine reported inside its progress stream. */
class ProgressError extends Error {}

/** Reads a JSON-lines progress stream to its end; an error message in it rejects, an abort destroys it. */
function followProgress(stream: Readable, signal: AbortSignal, onEvent: (event: ProgressEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let failed: string | undefined;
    const onAbort = (): void => {
      stream.destroy();
      reject(new Error('aborted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const handle = (line: string): void => {
      if (line.trim() === '') return;
      let event: ProgressEvent;
      try {
        event = JSON.parse(line) as ProgressEvent;
      } catch {
        return;
      }
      if (event.error) failed ??= event.errorDetail?.message ?? event.error;
      else onEvent(event);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) handle(line);
    });
    stream.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    stream.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      handle(buffered);
      if (failed) reject(new ProgressError(failed));
      else resolve();
    });
  });
}

async function imageExists(docker: Dockerode, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}

/** Removes one name of an image (the image itself stays while the kept one is its child). */
async function untag(docker: Dockerode, name: string): Promise<void> {
  await docker
    .getImage(name)
    .remove({ noprune: true })
    .catch(() => {});
}
