import type { Readable } from 'node:stream';
import { BuildError, type BuildRequest, type BuiltImage, type NetworkPool } from '@pier/core';
import type Dockerode from 'dockerode';
import type { Pack } from 'tar-fs';
import type { BuildCgroup } from './build-cgroup.ts';
import { removeBuildContainers } from './build-containers.ts';
import { packBuildContext } from './build-context.ts';
import { BuildDeadline } from './build-deadline.ts';
import { dockerfileProblem } from './build-dockerfile.ts';
import { createBuildNetwork, removeBuildNetwork, sweepBuildNetworks } from './build-network.ts';
import { type BuildEnvironment, buildOptions } from './build-options.ts';
import { LastLines } from './build-output.ts';
import { type BuildOutcome, followBuildStream } from './build-stream.ts';
import { engineMessage } from './engine-errors.ts';
import { findRemoteAdds } from './remote-add.ts';

/** Lines kept for BuildError.lastLines. */
const LAST_LINES = 20;
/** Build networks this much older than a build may run are left from dead workers. */
const STALE_NETWORK_MARGIN_MS = 10 * 60_000;

/** What the runtime gives every build: the network pool, the CPU limit and the parent cgroup with the process limit. */
export interface BuildSetup {
  pool?: NetworkPool;
  cpus: number;
  /** Prepared once per runtime. */
  cgroup: () => Promise<BuildCgroup>;
}

/** `ContainerRuntime.buildImage` over the Engine API; see DockerRuntime. */
export function buildImage(
  docker: Dockerode,
  request: BuildRequest,
  onLine: (line: string) => void,
  setup: BuildSetup,
  signal?: AbortSignal,
): Promise<BuiltImage> {
  return new BuildRun(docker, request, onLine, setup, signal).run();
}

/** One build: its output so far and what may stop it. */
class BuildRun {
  private readonly lastLines = new LastLines(LAST_LINES);
  private readonly deadline: BuildDeadline;

  constructor(
    private readonly docker: Dockerode,
    private readonly request: BuildRequest,
    private readonly onLine: (line: string) => void,
    private readonly setup: BuildSetup,
    signal?: AbortSignal,
  ) {
    this.deadline = new BuildDeadline(request.timeoutMs, signal);
  }

  /**
   * An image whose ONBUILD triggers ADD a remote source would have the daemon fetch it from the host's network
   * in a later build FROM it (a trigger runs at that build's FROM, out of its Dockerfile's sight): removed, and
   * the build fails. The Dockerfile check catches the ONBUILD line as written; this reads what the image holds.
   */
  private async refuseRemoteTriggers(triggers: readonly string[]): Promise<void> {
    const [remote] = findRemoteAdds(triggers.join('\n'));
    if (!remote) return;
    await this.docker
      .getImage(this.request.tag)
      .remove({ force: true })
      .catch(() => {});
    throw this.failed(
      `the image has an ONBUILD trigger that ADDs ${remote.source}, which a build FROM it would fetch from the host's network`,
    );
  }

  async run(): Promise<BuiltImage> {
    let context: Pack | undefined;
    let network: string | undefined;
    try {
      if (this.deadline.reason) throw this.stopped();
      const problem = await dockerfileProblem(this.request.contextDirectory, this.request.dockerfile);
      if (problem) throw this.failed(problem);
      const environment = await this.environment();
      network = environment.network;
      context = await packBuildContext(this.request.contextDirectory, this.request.dockerfile, this.request.contextFiles);
      const stream = await this.send(context, environment);
      const outcome = await followBuildStream(stream, this.deadline.signal, (line) => this.emit(line));
      this.deadline.dispose();
      await this.settle(outcome);
      const image = await this.docker.getImage(this.request.tag).inspect();
      await this.refuseRemoteTriggers(image.Config?.OnBuild ?? []);
      return { imageId: image.Id, tag: this.request.tag };
    } catch (error) {
      if (error instanceof BuildError) throw error;
      if (this.deadline.reason) throw this.stopped(error);
      throw this.failed(engineMessage(error), error);
    } finally {
      this.deadline.dispose();
      context?.destroy();
      // A network left behind (a RUN container slow to go) is swept by a later build.
      if (network) await removeBuildNetwork(this.docker, network).catch(() => {});
    }
  }

  /** The build's own network (sweeping those of builds that died with their worker) and its limits. */
  private async environment(): Promise<BuildEnvironment> {
    const cgroup = await this.setup.cgroup();
    if ('problem' in cgroup) this.emit(cgroup.problem);
    await sweepBuildNetworks(this.docker, this.request.timeoutMs + STALE_NETWORK_MARGIN_MS).catch(() => {});
    const network = await createBuildNetwork(this.docker, this.request.labels, this.setup.pool);
    return { network, cpus: this.setup.cpus, ...('parent' in cgroup ? { cgroupParent: cgroup.parent } : {}) };
  }

  /**
   * Sends the context and waits for the Engine to start answering. A stop in
   * this phase aborts the request; once the answer streams, followBuildStream
   * decides when to hang up.
   */
  private async send(context: Pack, environment: BuildEnvironment): Promise<Readable> {
    const stop = this.deadline.signal;
    const upload = new AbortController();
    const abortUpload = (): void => upload.abort(stop.reason);
    stop.addEventListener('abort', abortUpload, { once: true });
    try {
      // tar-fs 3 packs into a streamx stream, which pipes like a Node one; the answer is an http.IncomingMessage.
      const body = context as unknown as NodeJS.ReadableStream;
      return (await this.docker.buildImage(body, buildOptions(this.request, environment, upload.signal))) as unknown as Readable;
    } finally {
      stop.removeEventListener('abort', abortUpload);
    }
  }

  /**
   * Throws unless the stream reported a built image and nothing stopped the
   * build meanwhile (a stop wins even over a build that just finished); after a
   * stop or failure, first removes the build's containers.
   */
  private async settle(outcome: BuildOutcome): Promise<void> {
    if (!this.deadline.reason && outcome.imageId && !outcome.error) return;
    await removeBuildContainers(this.docker, outcome.containers);
    if (this.deadline.reason) throw this.stopped();
    if (outcome.error) throw new BuildError(`build failed: ${outcome.error}`, this.lastLines.snapshot());
    throw this.failed('the Engine ended the build without reporting an image');
  }

  private stopped(cause?: unknown): BuildError {
    const message =
      this.deadline.reason === 'timeout' ? `build timed out after ${seconds(this.request.timeoutMs)} s` : 'build cancelled';
    this.emit(message);
    return new BuildError(message, this.lastLines.snapshot(), cause === undefined ? undefined : { cause });
  }

  /** A failure not yet in the output: shown there too. */
  private failed(problem: string, cause?: unknown): BuildError {
    this.emit(problem);
    return new BuildError(`build failed: ${problem}`, this.lastLines.snapshot(), cause === undefined ? undefined : { cause });
  }

  private emit(line: string): void {
    this.lastLines.add(line);
    try {
      this.onLine(line);
    } catch {
      // A throwing onLine must not break the build (it runs inside a stream handler); the line is still in lastLines.
    }
  }
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
