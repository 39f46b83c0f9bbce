/** One JSON message of the Engine's `POST /build` progress stream (classic builder). */
export interface BuildMessage {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string };
}

/** What one message means for the build. */
export interface BuildEvent {
  /** Text to append to the build log (may hold partial lines; see `LineAssembler`). */
  text: string;
  /** The build failed with this message. */
  error?: string;
  /** The build finished and produced this image. */
  imageId?: string;
}

/** Reads one message; unknown shapes yield an empty event. */
export function readBuildMessage(message: BuildMessage): BuildEvent {
  const error = message.errorDetail?.message ?? message.error;
  if (error) return { text: `${error}\n`, error };
  if (typeof message.stream === 'string') return { text: message.stream, ...successOf(message.stream) };
  if (message.aux?.ID) return { text: '', imageId: message.aux.ID };
  if (typeof message.status === 'string') return { text: `${message.id ? `${message.id}: ` : ''}${message.status}\n` };
  return { text: '' };
}

function successOf(text: string): { imageId?: string } {
  const match = /^Successfully built ([0-9a-f]+)\s*$/m.exec(text);
  return match?.[1] ? { imageId: match[1] } : {};
}

/** ` ---> Running in 1f2e3d4c5b6a`: the classic builder created this container for a RUN step. */
export function buildContainerOf(line: string): string | undefined {
  return /^ ---> Running in ([0-9a-f]{12,64})$/.exec(line)?.[1];
}

/** `Step 3/5 : RUN make`: the classic builder is about to create a container for this step. */
export function isRunStep(line: string): boolean {
  return /^Step \d+\/\d+ : RUN\b/i.test(line);
}

const ESCAPE = String.fromCharCode(0x1b);
/** ANSI control sequences, e.g. the red the classic builder wraps around stderr output. */
const ANSI_SEQUENCE = new RegExp(`${ESCAPE}\\[[0-?]*[ -/]*[@-~]`, 'g');

/** A build log line as plain text: without terminal colours. */
export function plainText(line: string): string {
  return line.replace(ANSI_SEQUENCE, '');
}

/**
 * Turns chunks of text into whole lines: a RUN step's output may arrive split
 * across messages. Strips a trailing `\r`, skips empty lines.
 */
export class LineAssembler {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    const pieces = (this.partial + text).split('\n');
    this.partial = pieces.pop() ?? '';
    for (const piece of pieces) this.emit(piece);
  }

  /** Emits what is left after the last newline. */
  flush(): void {
    const rest = this.partial;
    this.partial = '';
    this.emit(rest);
  }

  private emit(piece: string): void {
    const line = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
    if (line.length > 0) this.onLine(line);
  }
}

/** The last `capacity` lines seen, for BuildError.lastLines. */
export class LastLines {
  private readonly lines: string[] = [];

  constructor(private readonly capacity = 20) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
  }

  snapshot(): string[] {
    return [...this.lines];
  }
}
