import type { Readable } from 'node:stream';
import { BuildError, type BuildRequest, type BuiltImage } from '@pier/core';
import type Dockerode from 'dockerode';
import type { Pack } from 'tar-fs';
import { removeBuildContainers } from './build-containers.ts';
import { packBuildContext } from './build-context.ts';
import { BuildDeadline } from './build-deadline.ts';
import { buildOptions } from './build-options.ts';
import { LastLines } from './build-output.ts';
import { type BuildOutcome, followBuildStream } from './build-stream.ts';
import { engineMessage } from './engine-errors.ts';

/** Lines kept for BuildError.lastLines. */
const LAST_LINES = 20;

/** `ContainerRuntime.buildImage` over the Engine API; see DockerRuntime. */
export function buildImage(
  docker: Dockerode,
  request: BuildRequest,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<BuiltImage> {
  return new BuildRun(docker, request, onLine, signal).run();
}

/** One build: its output so far and what may stop it. */
class BuildRun {
  private readonly lastLines = new LastLines(LAST_LINES);
  private readonly deadline: BuildDeadline;

  constructor(
    private readonly docker: Dockerode,
    private readonly request: BuildRequest,
    private readonly onLine: (line: string) => void,
    signal?: AbortSignal,
  ) {
    this.deadline = new BuildDeadline(request.timeoutMs, signal);
  }

  async run(): Promise<BuiltImage> {
    let context: Pack | undefined;
    try {
      if (this.deadline.reason) throw this.stopped();
      context = await packBuildContext(this.request.contextDirectory, this.request.dockerfile);
      const stream = await this.send(context);
      const outcome = await followBuildStream(stream, this.deadline.signal, (line) => this.emit(line));
      this.deadline.dispose();
      await this.settle(outcome);
      const image = await this.docker.getImage(this.request.tag).inspect();
      return { imageId: image.Id, tag: this.request.tag };
    } catch (error) {
      if (error instanceof BuildError) throw error;
      if (this.deadline.reason) throw this.stopped(error);
      throw this.failed(engineMessage(error), error);
    } finally {
      this.deadline.dispose();
      context?.destroy();
    }
  }

  /**
   * Sends the context and waits for the Engine to start answering. A stop in
   * this phase aborts the request; once the answer streams, followBuildStream
   * decides when to hang up.
   */
  private async send(context: Pack): Promise<Readable> {
    const stop = this.deadline.signal;
    const upload = new AbortController();
    const abortUpload = (): void => upload.abort(stop.reason);
    stop.addEventListener('abort', abortUpload, { once: true });
    try {
      // tar-fs 3 packs into a streamx stream, which pipes like a Node one; the answer is an http.IncomingMessage.
      const body = context as unknown as NodeJS.ReadableStream;
      return (await this.docker.buildImage(body, buildOptions(this.request, upload.signal))) as unknown as Readable;
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
