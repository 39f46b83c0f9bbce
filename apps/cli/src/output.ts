import { shortSpan } from './units-text.ts';

/**
 * Where the CLI writes. Results go to stdout (a table or text on a terminal,
 * plain stable text when piped, the API's own objects with --json); what the
 * CLI chose, progress and warnings go to stderr, so `pier … | grep` and
 * `pier … --json | jq` see results only.
 */
export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface OutputOptions {
  json: boolean;
  /** Colour wanted at all (no NO_COLOR, no --no-color, TERM not dumb); each stream gets it only when it is a terminal. */
  color: boolean;
}

type Paint = (text: string) => string;

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 } as const;

export class Output {
  readonly json: boolean;
  readonly color: boolean;
  /** stdout is a terminal: tables get colour and progress may redraw. */
  readonly interactive: boolean;
  readonly paint: Record<keyof typeof ANSI, Paint>;
  /** Colours for stderr, which may be a terminal when stdout is not (`pier logs | grep`), or the reverse. */
  readonly errPaint: Record<keyof typeof ANSI, Paint>;

  constructor(
    readonly streams: OutputStreams,
    options: OutputOptions,
  ) {
    this.json = options.json;
    this.color = options.color && Boolean(streams.stdout.isTTY);
    this.interactive = Boolean(streams.stdout.isTTY);
    this.paint = palette(this.color);
    this.errPaint = palette(options.color && Boolean(streams.stderr.isTTY));
  }

  /** One line of result on stdout. */
  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** Raw text on stdout (a log line already ends in its own newline). */
  write(text: string): void {
    this.streams.stdout.write(text);
  }

  /** What the CLI chose or is doing, on stderr. */
  info(text: string): void {
    this.streams.stderr.write(`${this.errPaint.dim(text)}\n`);
  }

  warn(text: string): void {
    this.streams.stderr.write(`${this.errPaint.yellow(`warning: ${text}`)}\n`);
  }

  /** A change that worked, on stderr when the result itself goes to stdout. */
  success(text: string): void {
    this.streams.stderr.write(`${this.errPaint.green('✓')} ${text}\n`);
  }

  /** The API's own object(s), as JSON on stdout (for --json). */
  printJson(value: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Prints `value` as JSON with --json, else runs `render`. */
  result<T>(value: T, render: (value: T) => void): void {
    if (this.json) this.printJson(value);
    else render(value);
  }

  /**
   * Rows under a header, columns padded to their widest cell. Piped, the
   * header stays (stable for `awk`/`cut`) and cells are separated by two or
   * more spaces; an empty cell is `-`.
   */
  table(headers: string[], rows: (string | number | null | undefined)[][]): void {
    const cells = rows.map((row) => headers.map((_, i) => cellText(row[i])));
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => visibleLength(row[i] ?? ''))));
    const pad = (text: string, i: number) =>
      i === headers.length - 1 ? text : text + ' '.repeat((widths[i] ?? 0) - visibleLength(text));
    this.line(this.paint.bold(headers.map((h, i) => pad(h.toUpperCase(), i)).join('  ')).trimEnd());
    for (const row of cells)
      this.line(
        row
          .map((cell, i) => pad(cell, i))
          .join('  ')
          .trimEnd(),
      );
  }

  /** `key: value` lines, keys aligned (for `show` commands). */
  fields(pairs: [string, string | number | boolean | null | undefined][]): void {
    const width = Math.max(0, ...pairs.map(([key]) => key.length));
    for (const [key, value] of pairs) this.line(`${this.paint.bold(`${key}:`.padEnd(width + 1))} ${cellText(value)}`);
  }

  /** A state word coloured by what it means (live green, failed red, in progress yellow). */
  state(state: string | null | undefined): string {
    if (!state) return '-';
    if (/^(live|serving|running|ok|ready|succeeded|verified|issued|healthy|active|valid|delivered)$/.test(state))
      return this.paint.green(state);
    if (/(fail|crash|error|cancel|unhealthy|expired|invalid|lost|missing)/.test(state)) return this.paint.red(state);
    return this.paint.yellow(state);
  }
}

function palette(on: boolean): Record<keyof typeof ANSI, Paint> {
  const entries = Object.entries(ANSI).map(([name, code]) => [
    name,
    on ? (text: string) => `\u001b[${code}m${text}\u001b[0m` : (text: string) => text,
  ]);
  return Object.fromEntries(entries) as Record<keyof typeof ANSI, Paint>;
}

/** A cell's text on one line, without control sequences a server or an app put in it. */
function cellText(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  // Colours (SGR) stay: the CLI paints its own states; anything else that could move the cursor or retitle goes.
  return String(value)
    .replace(/[\r\n\t]+/g, ' ')
    .replace(CONTROL, (sequence) => (SGR.test(sequence) ? sequence : ''));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the CLI's own colour codes to measure a cell.
const ESCAPES = /\u001b\[[0-9;]*m/g;

function visibleLength(text: string): number {
  return text.replace(ESCAPES, '').length;
}

/** "3m ago", "2h ago", "5d ago" for an ISO time (a time to come, on a skewed clock, is "0s ago"); `-` for none. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  return `${shortSpan(Math.max(0, now - Date.parse(iso)))} ago`;
}

/**
 * What printable() removes: CSI sequences (ESC [ …), OSC strings (titles, hyperlinks), and every other C0 and C1
 * control character (the one-byte CSI and OSC among them) but tab and newline.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** A colour (SGR) sequence: harmless, and the CLI's own states are painted with them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: an escape sequence starts with ESC.
const SGR = /^\x1b\[[0-9;]*m$/;

/** Strips terminal control sequences from text a server or an app wrote, so it cannot redraw the user's terminal. */
export function printable(text: string): string {
  return text.replace(CONTROL, '');
}
