/**
 * Keeps a few child processes running, each on its own: one that exits is
 * started again after a growing delay (restart-plan.ts), and the others are
 * left alone, so a crash of the api or the worker never takes the proxy, and
 * with it every app, down. Only stop() ends them all: it passes its signal to
 * each, waits, and kills what is still running after `stopTimeoutMs`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { describeExit, EX_CONFIG, formatDuration, planRestart, type RestartBackoff } from './restart-plan.ts';

export interface SupervisedProcess {
  /** The name log lines use: api, worker, proxy. */
  name: string;
  command: string;
  args: string[];
  /** Its environment; the supervisor's own when absent. */
  env?: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  processes: SupervisedProcess[];
  backoff: RestartBackoff;
  /** After stop()'s signal, how long a process gets to finish before SIGKILL. */
  stopTimeoutMs: number;
  /** One line per start, exit and restart (stderr in start-all.ts). */
  log: (line: string) => void;
}

interface Slot {
  spec: SupervisedProcess;
  child?: ChildProcess;
  startedAt: number;
  streak: number;
  restartTimer?: NodeJS.Timeout;
  /** Exited with EX_CONFIG: not started again until the supervisor is. */
  givenUp: boolean;
}

export class Supervisor {
  private readonly slots: Slot[];
  private stopping = false;
  private resolveDone!: (code: number) => void;
  /** Resolves with the supervisor's exit status: 0 once stop() has ended every process, 78 when all gave up. */
  readonly done = new Promise<number>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(private readonly options: SupervisorOptions) {
    this.slots = options.processes.map((spec) => ({ spec, startedAt: 0, streak: 0, givenUp: false }));
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** Passes `signal` to every running process, cancels pending restarts, and resolves once all have exited. */
  stop(signal: NodeJS.Signals): Promise<number> {
    if (this.stopping) return this.done;
    this.stopping = true;
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      slot.child?.kill(signal);
    }
    setTimeout(() => {
      for (const slot of this.slots) slot.child?.kill('SIGKILL');
    }, this.options.stopTimeoutMs).unref();
    this.resolveIfAllExited();
    return this.done;
  }

  private spawn(slot: Slot): void {
    slot.restartTimer = undefined;
    const child = spawn(slot.spec.command, slot.spec.args, {
      stdio: 'inherit',
      ...(slot.spec.env ? { env: slot.spec.env } : {}),
    });
    slot.child = child;
    slot.startedAt = Date.now();
    // An error without a pid (the executable missing) is followed by no 'exit': count it as one.
    child.once('error', (err) => {
      if (child.pid === undefined) this.exited(slot, child, null, null, err.message);
    });
    child.once('exit', (code, signal) => this.exited(slot, child, code, signal));
    if (child.pid !== undefined) this.options.log(`pier: ${slot.spec.name} started (pid ${child.pid})`);
  }

  private exited(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    if (this.stopping) {
      this.resolveIfAllExited();
      return;
    }
    const { name } = slot.spec;
    const how = error ? `could not be started (${error})` : describeExit(code, signal);
    const ran = formatDuration(Date.now() - slot.startedAt);
    const which = child.pid === undefined ? name : `${name} (pid ${child.pid})`;
    if (code === EX_CONFIG) {
      slot.givenUp = true;
      this.options.log(`pier: ${which} ${how} after ${ran}: its configuration is invalid, so it is not restarted`);
      if (this.slots.every((s) => s.givenUp)) this.resolveDone(EX_CONFIG);
      return;
    }
    const plan = planRestart(slot.streak, Date.now() - slot.startedAt, this.options.backoff);
    slot.streak = plan.streak;
    this.options.log(
      `pier: ${which} ${how} after ${ran}; restarting it in ${formatDuration(plan.delayMs)} ` +
        `(restart ${plan.streak} in a row; the other processes keep running)`,
    );
    slot.restartTimer = setTimeout(() => this.spawn(slot), plan.delayMs);
  }

  private resolveIfAllExited(): void {
    if (this.slots.every((slot) => slot.child === undefined)) this.resolveDone(0);
  }
}
