import { type Output, printable } from './output.ts';

/** One state change of a deployment, as `GET /deployments/:id` lists them. */
export interface DeploymentEvent {
  from: string | null;
  to: string;
  message: string | null;
  at: string;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 120;
// Back to the start of the line and erase it: the progress line is redrawn in place.
const ERASE_LINE = '\r\u001b[K';

/**
 * The first line of a server's message, safe to print: a failure's reason
 * goes on with the health responses and the container's last lines, which
 * the build output has shown already.
 */
export function firstLine(message: string | null | undefined): string {
  return (
    printable(message ?? '')
      .trim()
      .split('\n')[0] ?? ''
  );
}

/** `building → deploying: built pier/app:…`. */
export function stepText(event: DeploymentEvent): string {
  const change = event.from ? `${event.from} → ${event.to}` : `→ ${event.to}`;
  const message = firstLine(event.message);
  return message ? `${change}: ${message}` : change;
}

/** The redrawn line: a spinner frame, what the deployment is doing and for how long. */
export function progressText(state: string, elapsedMs: number, frame: number): string {
  const seconds = Math.max(0, Math.floor(elapsedMs / 1000));
  return `${FRAMES[frame % FRAMES.length]} ${state.replace(/_/g, ' ')} ${seconds}s`;
}

/** "12s", "3m 05s" between two ISO times; empty when either is missing. */
export function duration(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso || !toIso) return '';
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * A spinner with the deployment's state and the seconds spent, redrawn on
 * one line of stderr, only when stderr is a terminal (piped, the steps alone
 * are printed). Anything else written while it shows goes through `around`,
 * which erases the line first so the output never mixes with it.
 */
export class ProgressLine {
  private state: string | undefined;
  private frame = 0;
  private shown = false;
  private timer: NodeJS.Timeout | undefined;
  private started = Date.now();

  constructor(
    private readonly out: Output,
    private readonly enabled: boolean,
  ) {}

  /** `since`: when the deployment was queued, so that following an old one again shows its real age. */
  update(state: string, since?: string): void {
    this.state = state;
    const queued = since ? Date.parse(since) : Number.NaN;
    if (Number.isFinite(queued)) this.started = Math.min(queued, Date.now());
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
    this.draw();
  }

  /** Runs `write` with the line erased, then draws it again. */
  around(write: () => void): void {
    this.erase();
    write();
    if (this.timer) this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
  }

  private draw(): void {
    if (!this.state) return;
    const text = progressText(this.state, Date.now() - this.started, this.frame++);
    this.out.streams.stderr.write(`${ERASE_LINE}${this.out.paint.cyan(text)}`);
    this.shown = true;
  }

  private erase(): void {
    if (!this.shown) return;
    this.out.streams.stderr.write(ERASE_LINE);
    this.shown = false;
  }
}
