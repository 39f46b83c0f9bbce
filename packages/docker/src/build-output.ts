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

/** Longest build output line kept whole; a longer one (or output without newlines) is cut into lines this long. */
export const MAX_LINE_LENGTH = 8192;

/**
 * Turns chunks of text into lines: a RUN step's output may arrive split
 * across messages. Strips a trailing `\r`, skips empty lines, and cuts a line
 * longer than `maxLength` into pieces of that length, so output without
 * newlines still comes out in bounded lines. Linear in the text: each
 * character is searched and copied a bounded number of times, however long
 * the line.
 */
export class LineAssembler {
  /** The current line's text so far, in the pieces it arrived in; always shorter than `maxLength` in total. */
  private parts: string[] = [];
  private partLength = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLength = MAX_LINE_LENGTH,
  ) {}

  push(text: string): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.append(text.slice(start, newline));
      this.endLine();
      start = newline + 1;
    }
    this.append(start === 0 ? text : text.slice(start));
  }

  /** Emits what is left after the last newline. */
  flush(): void {
    this.endLine();
  }

  /** Adds text of the current line, emitting every full `maxLength` of it. */
  private append(text: string): void {
    if (text.length === 0) return;
    if (this.partLength + text.length < this.maxLength) {
      this.parts.push(text);
      this.partLength += text.length;
      return;
    }
    const line = this.take() + text;
    let offset = 0;
    for (; line.length - offset >= this.maxLength; offset += this.maxLength)
      this.emit(line.slice(offset, offset + this.maxLength));
    this.append(line.slice(offset));
  }

  private endLine(): void {
    this.emit(this.take());
  }

  private take(): string {
    const text = this.parts.length === 1 ? (this.parts[0] ?? '') : this.parts.join('');
    this.parts = [];
    this.partLength = 0;
    return text;
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
