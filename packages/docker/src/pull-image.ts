import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BuildError, type PulledImage, type PullRequest, parseImageReference, pullArguments } from '@pier/core';
import type Dockerode from 'dockerode';
import { BuildDeadline } from './build-deadline.ts';
import { engineMessage, isStatus } from './engine-errors.ts';
import { OneAtATime } from './one-at-a-time.ts';
import { followProgress, ProgressError, progressLine } from './progress-stream.ts';
import { pullFailureReason } from './pull-errors.ts';

/**
 * Pulls of one repository run one at a time in this process (whatever the
 * DockerRuntime): one pull removing the name it made must not fall between
 * another's pull and its inspection of that name, nor make the other believe
 * the name was there before it (and leave it behind).
 */
const pullTurns = new OneAtATime();

/**
 * `ContainerRuntime.pullImage` over the Engine API: pulls the reference (the
 * credentials go in the X-Registry-Auth header, never into a URL or a line),
 * then keeps it as Pier's own: a config-only build `FROM <pulled id>` whose
 * labels come from the request (as query parameters, never Dockerfile text)
 * and whose tag is the request's, on no network. An image with ONBUILD
 * triggers is refused (that build would run them). The name the pull created
 * (the reference's tag, or its digest) is removed, so the kept image is the
 * only name of its layers and removing it frees them; a refused or failed
 * pull leaves nothing.
 */
export async function pullImage(
  docker: Dockerode,
  request: PullRequest,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<PulledImage> {
  const reference = parseImageReference(request.reference);
  const { fromImage, tag } = pullArguments(reference);
  const pull: PullTarget = {
    fromImage,
    tag,
    name: reference.digest ? `${fromImage}@${reference.digest}` : `${fromImage}:${tag}`,
    registry: reference.registry,
  };
  const deadline = new BuildDeadline(request.timeoutMs, signal);
  try {
    if (deadline.reason) throw stopped(request, deadline);
    return await pullTurns.run(fromImage, deadline.signal, () => pullAndKeep(docker, request, pull, deadline, onLine));
  } catch (error) {
    if (error instanceof BuildError) throw error;
    if (deadline.reason) throw stopped(request, deadline);
    throw new BuildError(`pull failed: ${engineMessage(error)}`, [], { cause: error });
  } finally {
    deadline.dispose();
  }
}

/** What `POST /images/create` is asked for, and the local name it makes. */
interface PullTarget {
  fromImage: string;
  tag: string;
  name: string;
  registry: string;
}

async function pullAndKeep(
  docker: Dockerode,
  request: PullRequest,
  pull: PullTarget,
  deadline: BuildDeadline,
  onLine: (line: string) => void,
): Promise<PulledImage> {
  const existed = await imageExists(docker, pull.name);
  const digest = await pullReference(docker, request, pull, deadline, onLine);
  try {
    const pulled = await docker.getImage(pull.name).inspect();
    refuseTriggers(request.reference, pulled.Config?.OnBuild ?? [], onLine);
    const imageId = await keepAsPiers(docker, pulled.Id, request, deadline.signal);
    onLine(`kept as ${request.tag} (${imageId})`);
    return { imageId, pulledId: pulled.Id, tag: request.tag, digest };
  } finally {
    // The kept image holds the layers now (or nothing does, and they go): a name the pull made goes.
    if (!existed) await untag(docker, pull.name);
  }
}

/** `POST /images/create` to its end; the digest the registry served, when it said. */
async function pullReference(
  docker: Dockerode,
  request: PullRequest,
  pull: PullTarget,
  deadline: BuildDeadline,
  onLine: (line: string) => void,
): Promise<string | null> {
  onLine(`pulling ${request.reference}${request.auth ? ` as ${request.auth.username}` : ''}`);
  const auth = request.auth
    ? { username: request.auth.username, password: request.auth.password, serveraddress: request.auth.server }
    : undefined;
  let digest: string | null = null;
  try {
    const options = { fromImage: pull.fromImage, tag: pull.tag, abortSignal: deadline.signal };
    const stream = (await docker.createImage(auth, options)) as Readable;
    await followProgress(stream, deadline.signal, (event) => {
      const line = progressLine(event);
      if (!line) return;
      digest = /^Digest: (sha256:[a-f0-9]{64})$/.exec(event.status ?? '')?.[1] ?? digest;
      onLine(line);
    });
    return digest;
  } catch (error) {
    if (deadline.reason) throw stopped(request, deadline);
    const attempt = { reference: request.reference, registry: pull.registry, authSent: request.auth !== null };
    const reason = pullFailureReason(error instanceof ProgressError ? error.message : engineMessage(error), attempt);
    onLine(reason);
    throw new BuildError(`pull failed: ${reason}`);
  }
}

/**
 * ONBUILD triggers of the pulled image would run in the build that keeps it
 * (as in any build FROM it): commands of someone else's choosing, unbounded,
 * possibly fetching from the host's network. Refused, naming the instructions.
 */
function refuseTriggers(reference: string, triggers: readonly string[], onLine: (line: string) => void): void {
  if (triggers.length === 0) return;
  const kinds = [...new Set(triggers.map((trigger) => `ONBUILD ${trigger.trim().split(/\s/)[0]?.toUpperCase()}`))];
  const reason =
    `${reference} has ONBUILD triggers (${kinds.join(', ')}), which would run when Pier keeps it; ` +
    'deploy an image built without ONBUILD instructions (an application image, not a base image)';
  onLine(reason);
  throw new BuildError(`pull failed: ${reason}`);
}

function stopped(request: PullRequest, deadline: BuildDeadline): BuildError {
  return new BuildError(
    deadline.reason === 'timeout' ? `pull timed out after ${Math.round(request.timeoutMs / 1000)} s` : 'pull cancelled',
  );
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

async function imageExists(docker: Dockerode, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}

/**
 * Removes one name (tag or digest) of an image. The image itself goes only
 * when nothing else names or needs it: while the kept image is its child, or
 * a container uses it, the Engine just untags it.
 */
async function untag(docker: Dockerode, name: string): Promise<void> {
  await docker
    .getImage(name)
    .remove()
    .catch(() => {});
}
