import type { Readable } from 'node:stream';

/** One message of the Engine's JSON progress stream (`POST /images/create`, `POST /build`). */
export interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** A line for the deployment's log: statuses, not the byte counters of each layer. */
export function progressLine(event: ProgressEvent): string | null {
  if (!event.status || event.progress) return null;
  if (/^(Downloading|Extracting|Waiting|Verifying Checksum)$/.test(event.status)) return null;
  return event.id && !event.status.startsWith(event.id) ? `${event.id}: ${event.status}` : event.status;
}

/** An error the Engine reported inside its progress stream. */
export class ProgressError extends Error {}

/** Reads a JSON-lines progress stream to its end; an error message in it rejects, an abort destroys it. */
export function followProgress(stream: Readable, signal: AbortSignal, onEvent: (event: ProgressEvent) => void): Promise<void> {
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
