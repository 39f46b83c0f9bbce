import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type ExecOptions, type ExecResult, ValidationError } from '@pier/core';
import type Dockerode from 'dockerode';

const STDERR_KEEP_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * `ContainerOperations.exec`: `POST /containers/{id}/exec` with the command as
 * an argument array (no shell), stdout/stderr demultiplexed, stdin streamed
 * and then half-closed, and the exit code read back from the exec's inspect.
 */
export async function execInContainer(
  docker: Dockerode,
  container: Dockerode.Container,
  command: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  if (command.length === 0 || command.some((part) => typeof part !== 'string' || part.includes('\0'))) {
    throw new ValidationError('exec: the command must be a non-empty array of strings', 'command');
  }
  const exec = await container.exec({
    Cmd: command,
    AttachStdin: options.stdin !== undefined,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    ...(options.user ? { User: options.user } : {}),
  });
  const stream = (await exec.start({ hijack: true, stdin: options.stdin !== undefined })) as NodeJS.ReadWriteStream & {
    destroy(error?: Error): void;
  };
  const collected: Buffer[] = [];
  const stdout: Writable = options.stdout ?? collector(collected);
  let stderr = Buffer.alloc(0);
  const stderrSink = new PassThrough();
  stderrSink.on('data', (chunk: Buffer) => {
    stderr = Buffer.concat([stderr, chunk]);
    if (stderr.length > STDERR_KEEP_BYTES) stderr = stderr.subarray(stderr.length - STDERR_KEEP_BYTES);
  });
  const stdoutSink = new PassThrough();
  stdoutSink.pipe(stdout, { end: false });
  docker.modem.demuxStream(stream, stdoutSink, stderrSink);

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.destroy(new Error(`exec ${command[0]} timed out after ${timeoutMs} ms`));
      reject(new Error(`exec ${command[0]} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const fed = options.stdin ? feed(stream, options.stdin) : Promise.resolve();
    await Promise.race([Promise.all([ended, fed]), timedOut]);
    stdoutSink.end();
    await finishedWriting(stdoutSink, stdout, options.stdout !== undefined);
    const exitCode = await exitCodeOf(exec);
    return { exitCode, stdout: Buffer.concat(collected).toString('utf8'), stderr: stderr.toString('utf8') };
  } finally {
    clearTimeout(timer);
  }
}

async function feed(stream: NodeJS.ReadWriteStream, input: AsyncIterable<Uint8Array | string>): Promise<void> {
  for await (const chunk of input) {
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  // Half-close: the process sees EOF on stdin, its output keeps coming.
  stream.end();
}

function collector(into: Buffer[]): Writable {
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => into.push(chunk));
  return sink;
}

async function finishedWriting(source: PassThrough, target: Writable, external: boolean): Promise<void> {
  await finished(source).catch(() => {});
  if (external) {
    // The caller's writable (a file) is ended here so that its data is flushed before we return.
    target.end();
    await finished(target);
  }
}

/** The Engine marks the exec finished a moment after its stream ends. */
async function exitCodeOf(exec: Dockerode.Exec): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('exec did not report an exit code');
}
