import type { Readable } from 'node:stream';
import { type BuildMessage, buildContainerOf, isRunStep, LineAssembler, plainText, readBuildMessage } from './build-output.ts';

/** How long a stop waits for the Engine to name the container of a RUN step it just announced. */
const ANNOUNCE_GRACE_MS = 3_000;
/**
 * Longest JSON message of the progress stream read as one. The Engine writes
 * one per write of a RUN step (tens of KB at most); a longer one is cut, and
 * its pieces, no longer JSON, are shown as text.
 */
const MAX_MESSAGE_LENGTH = 1024 * 1024;

/** How the Engine's build stream ended. */
export interface BuildOutcome {
  /** Set when the Engine reported success. */
  imageId?: string;
  /** Set when the Engine reported a failure (or the stream broke). */
  error?: string;
  /** The build was stopped through `signal`; the stream was destroyed. */
  stopped: boolean;
  /** Ids of the RUN containers the build announced, for cleanup after a stop. */
  containers: string[];
}

/**
 * Reads the JSON-lines progress stream of `POST /build` to its end, passing
 * each output line to `onLine` (a line longer than MAX_LINE_LENGTH, or output
 * without newlines, comes in pieces that long). When `signal` aborts it
 * destroys the stream, which makes the Engine cancel the build; if a RUN step
 * was announced but its container not yet named, it first waits (briefly) for
 * the name, so that the caller can remove that container too.
 */
export function followBuildStream(stream: Readable, signal: AbortSignal, onLine: (line: string) => void): Promise<BuildOutcome> {
  const outcome: BuildOutcome = { stopped: false, containers: [] };
  let awaitingContainer = false;
  let stopOnAnnounce = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    outcome.stopped = true;
    stream.destroy();
  };
  const lines = new LineAssembler((text) => {
    const line = plainText(text);
    if (line === '') return;
    const container = buildContainerOf(line);
    if (container) outcome.containers.push(container);
    awaitingContainer = isRunStep(line) || (awaitingContainer && !container);
    if (container && stopOnAnnounce) stop();
    onLine(line);
  });
  const messages = new LineAssembler((json) => {
    const event = readBuildMessage(parseMessage(json));
    lines.push(event.text);
    if (event.error) outcome.error ??= event.error;
    if (event.imageId) outcome.imageId = event.imageId;
  }, MAX_MESSAGE_LENGTH);
  const onAbort = (): void => {
    if (awaitingContainer) {
      stopOnAnnounce = true;
      graceTimer = setTimeout(stop, ANNOUNCE_GRACE_MS);
    } else stop();
  };

  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer | string) => messages.push(chunk.toString()));
    stream.on('error', (error) => {
      if (!outcome.stopped) outcome.error ??= `the build stream broke: ${error.message}`;
    });
    stream.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(graceTimer);
      messages.flush();
      lines.flush();
      resolve(outcome);
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parseMessage(json: string): BuildMessage {
  try {
    return JSON.parse(json) as BuildMessage;
  } catch {
    return { stream: `${json}\n` };
  }
}
