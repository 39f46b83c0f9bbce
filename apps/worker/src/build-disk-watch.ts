export interface BuildDiskWatchOptions {
  /** Free bytes where images are written (ContainerRuntime.freeDiskBytes). */
  freeDiskBytes: () => Promise<number>;
  minFreeBytes: number;
  /** What is watched, for the reason: a build (default) or the pull of a prebuilt image. */
  activity?: DiskActivity;
  /** Default 5 s. */
  intervalMs?: number;
  /** Called once, with a reason a user can act on, when free space falls below the minimum. */
  onLow: (reason: string) => void;
  /** A check that could not be made (the Engine did not answer): the build goes on. */
  onError?: (err: unknown) => void;
}

const MiB = 1024 * 1024;

/** What writes layers while the disk is watched. */
export type DiskActivity = 'build' | 'pull';

/** Why a build (or pull) may not go on with `free` bytes left, or undefined when it may. */
export function diskSpaceProblem(
  free: number,
  minFree: number,
  phase: 'before' | 'during',
  activity: DiskActivity = 'build',
): string | undefined {
  if (free >= minFree) return undefined;
  const mib = (n: number) => `${Math.floor(n / MiB)} MiB`;
  const start =
    phase === 'before'
      ? `not enough free disk space to ${activity === 'pull' ? 'pull an image' : 'build'}`
      : `the ${activity} was stopped: free disk space ran low`;
  return `${start}: ${mib(free)} free, at least ${mib(minFree)} required; remove unused images or grow the disk`;
}

/**
 * Checks free disk space every few seconds while one build or pull runs (it
 * writes layers as it goes, and others may be writing too) and reports the
 * first time it is below the minimum, so the build can be stopped before the
 * disk is full for every app on the host.
 */
export class BuildDiskWatch {
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> = Promise.resolve();
  #reported = false;
  #busy = false;

  constructor(private readonly options: BuildDiskWatchOptions) {}

  start(): void {
    this.#timer = setInterval(() => this.#kick(), this.options.intervalMs ?? 5000);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking;
  }

  /** Runs one check unless one is still running (the Engine may be slow to answer). */
  #kick(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#checking = this.#check()
      .catch((err: unknown) => this.options.onError?.(err))
      .finally(() => {
        this.#busy = false;
      });
  }

  async #check(): Promise<void> {
    if (this.#reported || this.#timer === null) return;
    const { freeDiskBytes, minFreeBytes, activity } = this.options;
    const problem = diskSpaceProblem(await freeDiskBytes(), minFreeBytes, 'during', activity);
    if (problem === undefined || this.#timer === null) return;
    this.#reported = true;
    this.options.onLow(problem);
  }
}
