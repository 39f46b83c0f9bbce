import { randomBytes } from 'node:crypto';
import {
  addressUrl,
  ConflictError,
  type ContainerSpec,
  LABEL_APP,
  LABEL_ROLE,
  type LogEntry,
  type LogOptions,
  NotFoundError,
  ValidationError,
  type Workload,
  type WorkloadInstance,
} from '@pier/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

/** How an implementation runs one behaviour: an image and, for a real runtime, the command. */
export type ProgramSpec = Pick<ContainerSpec, 'image'> & Partial<Pick<ContainerSpec, 'command'>>;

/**
 * The same behaviours, as each implementation expresses them. The suite gives
 * every replica the env `PORT=8080` and `GREETING=<random>`, and publishes
 * 8080 unless a test says otherwise.
 */
export interface WorkloadPrograms {
  /** Answers every HTTP request on $PORT with $GREETING; writes `ready` once listening; on SIGTERM writes `bye` and exits 0. */
  greeter: ProgramSpec;
  /** The greeter, but SIGTERM does nothing. */
  ignoresTerm: ProgramSpec;
  /** The greeter, but it exits with code 3 a while after it starts: late enough that `run` still sees it running. */
  crashes: ProgramSpec;
  /** Allocates 200 MiB at once and holds it: past a 64 MiB limit the runtime kills it out of memory. */
  outOfMemory: ProgramSpec;
  /** Writes SPOKEN in order, each to its stream, `speakerGapMs` apart (the first at once), then exits 0. */
  speaker: ProgramSpec;
  speakerGapMs: number;
  /** Real time per second of grace given to `stop`: 1 for a real runtime; a fake may run faster. */
  graceScale: number;
  /** How long a test may take; default 45 s (a real runtime's tests wait for each other's containers). */
  timeoutMs?: number;
}

/** What the speaker writes. */
export const SPOKEN: readonly Omit<LogEntry, 'at'>[] = [
  { stream: 'stdout', line: 'one' },
  { stream: 'stderr', line: 'two' },
  { stream: 'stdout', line: 'three' },
  { stream: 'stdout', line: 'four' },
  { stream: 'stderr', line: 'five' },
];

const MiB = 1024 * 1024;
const LIMITS = { memoryBytes: 128 * MiB, nanoCpus: 500_000_000, pids: 64 };
const PORT = 8080;
/** An id no runtime has. */
const MISSING_ID = '0123456789ab0123456789ab';

/**
 * The contract of the Workload port (packages/core/src/ports/workload.ts), run
 * against any implementation. Everything it runs carries
 * `pier.app=pier-wl-<random>` and `pier.test=1` and is removed afterwards.
 */
export function describeWorkloadConformance(
  name: string,
  make: () => Workload | Promise<Workload>,
  programs: WorkloadPrograms,
): void {
  const run = randomBytes(4).toString('hex');
  const app = `pier-wl-${run}`;
  const labels = { [LABEL_APP]: app, 'pier.test': '1' };
  const greeting = `hello-${run}`;
  const scale = programs.graceScale;
  const timeout = programs.timeoutMs ?? 45_000;
  let workload: Workload;
  let count = 0;
  let greeter: Promise<WorkloadInstance> | undefined;
  const greeterName = `${app}-greeter`;

  function spec(role: string, program: ProgramSpec, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
    count++;
    return {
      name: `${app}-${role}-${count}`,
      ...program,
      env: { PORT: String(PORT), GREETING: greeting },
      labels: { ...labels, [LABEL_ROLE]: role },
      containerPort: PORT,
      networks: [],
      limits: LIMITS,
      ...overrides,
    };
  }

  /** One greeter, shared by the tests that only read it. */
  function sharedGreeter(): Promise<WorkloadInstance> {
    greeter ??= workload.run(spec('greeter', programs.greeter, { name: greeterName }));
    return greeter;
  }

  async function logs(id: string, options: LogOptions = {}): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const entry of workload.logs(id, options)) entries.push(entry);
    return entries;
  }

  const lines = (entries: readonly Omit<LogEntry, 'at'>[], stream?: LogEntry['stream']): string[] =>
    entries.filter((entry) => !stream || entry.stream === stream).map((entry) => entry.line);

  function eventually<T>(check: () => Promise<T>, waitMs = 20_000): Promise<T> {
    return vi.waitFor(check, { timeout: waitMs, interval: 20 });
  }

  async function exited(id: string): Promise<WorkloadInstance> {
    return eventually(async () => {
      const instance = await workload.inspect(id);
      if (instance?.status !== 'exited') throw new Error(`replica ${id} is ${instance?.status ?? 'gone'}`);
      return instance;
    });
  }

  async function said(id: string, line: string): Promise<void> {
    await eventually(async () => expect(lines(await logs(id))).toContain(line));
  }

  describe.concurrent(`Workload conformance: ${name}`, () => {
    beforeAll(async () => {
      workload = await make();
    });

    afterAll(async () => {
      if (!workload) return;
      for (const instance of await workload.list(labels)) await workload.remove(instance.id);
    });

    it(
      'runs a replica: running, with its name and labels, at an address that answers with the greeting from its env',
      async () => {
        const instance = await sharedGreeter();
        expect(instance).toMatchObject({
          id: expect.stringMatching(/^\S+$/),
          name: greeterName,
          labels: expect.objectContaining({ ...labels, [LABEL_ROLE]: 'greeter' }),
          status: 'running',
          exitCode: null,
          address: { host: expect.any(String), port: expect.any(Number) },
        });
        expect(Math.abs((instance.startedAt?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
        const url = addressUrl(instance.address ?? { host: 'missing', port: 0 }, '/');
        const body = await eventually(async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text());
        expect(body).toBe(greeting);
      },
      timeout,
    );

    it(
      'refuses a spec without the pier.app label, a taken name (conflict) and an unknown image (not found), leaving nothing',
      async () => {
        const unlabelled = spec('unlabelled', programs.greeter, { labels: { 'pier.test': '1' } });
        await expect(workload.run(unlabelled)).rejects.toBeInstanceOf(ValidationError);
        const taken = spec('taken', programs.greeter, { name: (await sharedGreeter()).name });
        await expect(workload.run(taken)).rejects.toBeInstanceOf(ConflictError);
        const missing = spec('missing', { ...programs.greeter, image: `pier-wl-missing-${run}:none` });
        await expect(workload.run(missing)).rejects.toBeInstanceOf(NotFoundError);
        const names = (await workload.list(labels)).map((instance) => instance.name);
        expect(names.filter((listed) => listed === taken.name)).toHaveLength(1);
        expect(names).not.toContain(missing.name);
      },
      timeout,
    );

    it(
      'lists replicas in every status by labels, all of which must match; inspects one; gone is null',
      async () => {
        const running = await sharedGreeter();
        const crashed = await workload.run(spec('listed', programs.crashes));
        await exited(crashed.id);
        const ids = async (wanted: Record<string, string>): Promise<string[]> =>
          (await workload.list(wanted)).map((instance) => instance.id).sort();
        expect(await ids(labels)).toEqual(expect.arrayContaining([running.id, crashed.id]));
        expect(await ids({ [LABEL_APP]: app, [LABEL_ROLE]: 'listed' })).toEqual([crashed.id]);
        expect(await ids({ 'pier.test': '1', [LABEL_ROLE]: 'greeter' })).toEqual(
          expect.arrayContaining([running.id]), // other runs of this suite may list theirs too
        );
        expect(await ids({ ...labels, [LABEL_ROLE]: 'greeter', 'pier.test': '2' })).toEqual([]);
        expect(await ids({ ...labels, [LABEL_ROLE]: 'nobody' })).toEqual([]);
        expect(await workload.inspect(running.id)).toMatchObject({ id: running.id, name: running.name, status: 'running' });
        expect(await workload.inspect(MISSING_ID)).toBeNull();
      },
      timeout,
    );

    it(
      'stops: SIGTERM handled → exits 0 well before the grace; SIGTERM ignored → ended (137) once the grace has passed',
      async () => {
        const [handles, ignores] = await Promise.all([
          workload.run(spec('handles-term', programs.greeter)),
          workload.run(spec('ignores-term', programs.ignoresTerm)),
        ]);
        await Promise.all([said(handles.id, 'ready'), said(ignores.id, 'ready')]);
        const timed = async (id: string, grace: number): Promise<number> => {
          const started = Date.now();
          await workload.stop(id, grace);
          return Date.now() - started;
        };
        const [handledMs, ignoredMs] = await Promise.all([timed(handles.id, 20), timed(ignores.id, 2)]);
        expect(handledMs).toBeLessThan(Math.min(5_000, 20_000 * scale * 0.5));
        expect(ignoredMs).toBeGreaterThanOrEqual(2_000 * scale * 0.95);
        expect(ignoredMs).toBeLessThan(Math.max(10_000 * scale, 1_000));
        expect(await workload.inspect(handles.id)).toMatchObject({ status: 'exited', exitCode: 0, address: null });
        expect(await workload.inspect(ignores.id)).toMatchObject({
          status: 'exited',
          exitCode: 137,
          oomKilled: false,
          address: null,
        });
        expect(lines(await logs(handles.id))).toContain('bye');
        await expect(workload.stop(handles.id, 1)).resolves.toBeUndefined();
        await expect(workload.stop(MISSING_ID, 1)).resolves.toBeUndefined();
        await expect(workload.stop(handles.id, -1)).rejects.toBeInstanceOf(ValidationError);
      },
      timeout,
    );

    it(
      'shows a crashed replica as exited with its exit code and no address',
      async () => {
        const started = await workload.run(spec('crash', programs.crashes));
        expect(started).toMatchObject({ status: 'running', address: expect.anything() });
        expect(await exited(started.id)).toMatchObject({ status: 'exited', exitCode: 3, oomKilled: false, address: null });
      },
      timeout,
    );

    it(
      'reports a replica killed for going past its memory limit as out of memory; one within its limit is not',
      async () => {
        const tight = { ...LIMITS, memoryBytes: 64 * MiB };
        const roomy = { ...LIMITS, memoryBytes: 512 * MiB };
        const [killed, fits] = await Promise.all([
          workload.run(spec('oom', programs.outOfMemory, { containerPort: null, limits: tight })),
          workload.run(spec('fits', programs.outOfMemory, { containerPort: null, limits: roomy })),
        ]);
        expect(await exited(killed.id)).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: true, address: null });
        const running = await workload.inspect(fits.id);
        expect(running).toMatchObject({ oomKilled: false });
        expect(running?.status).not.toBe('exited');
        // Listed alike: the reconciler reads replicas through `list`.
        const listed = (await workload.list({ ...labels, [LABEL_ROLE]: 'oom' })).find((instance) => instance.id === killed.id);
        expect(listed).toMatchObject({ oomKilled: true });
        await workload.stop(fits.id, 1);
        expect(await workload.inspect(fits.id)).toMatchObject({ status: 'exited', oomKilled: false });
      },
      timeout,
    );

    it(
      'samples a running replica: memory in use within its limit, the limit, cumulative CPU and bytes that never fall; null once removed or missing',
      async () => {
        const instance = await sharedGreeter();
        const first = await workload.stats(instance.id);
        expect(first).toMatchObject({ memoryLimitBytes: LIMITS.memoryBytes });
        expect(first?.memoryBytes).toBeGreaterThan(0);
        expect(first?.memoryBytes).toBeLessThan(LIMITS.memoryBytes);
        await fetch(addressUrl(instance.address as NonNullable<typeof instance.address>, '/'));
        const second = await workload.stats(instance.id);
        for (const key of ['cpuNanos', 'rxBytes', 'txBytes'] as const) {
          expect(second?.[key]).toBeGreaterThanOrEqual(first?.[key] ?? Number.POSITIVE_INFINITY);
        }
        const gone = await workload.run(spec('stats-gone', programs.greeter));
        await workload.remove(gone.id);
        expect(await workload.stats(gone.id)).toBeNull();
        expect(await workload.stats(MISSING_ID)).toBeNull();
      },
      timeout,
    );

    it(
      'removes a running replica: inspect gives null, it is not listed, removing again is fine',
      async () => {
        const instance = await workload.run(spec('removed', programs.greeter));
        await workload.remove(instance.id);
        expect(await workload.inspect(instance.id)).toBeNull();
        expect((await workload.list(labels)).map((listed) => listed.id)).not.toContain(instance.id);
        await expect(workload.remove(instance.id)).resolves.toBeUndefined();
        await expect(workload.remove(MISSING_ID)).resolves.toBeUndefined();
      },
      timeout,
    );

    it(
      'reads logs: each stream in order, tail; nothing published, no address; a missing replica is not found',
      async () => {
        const started = await workload.run(spec('logs', programs.speaker, { containerPort: null }));
        expect(started.address).toBeNull();
        await exited(started.id);
        const entries = await logs(started.id);
        // Real runtimes copy the two streams separately: order holds within each, not across them.
        expect(lines(entries, 'stdout')).toEqual(lines(SPOKEN, 'stdout'));
        expect(lines(entries, 'stderr')).toEqual(lines(SPOKEN, 'stderr'));
        for (const entry of entries) expect(Math.abs((entry.at?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
        expect(await logs(started.id, { tail: 2 })).toEqual(entries.slice(-2));
        expect(await logs(started.id, { tail: 0 })).toEqual([]);
        await expect(logs(MISSING_ID)).rejects.toBeInstanceOf(NotFoundError);
      },
      timeout,
    );

    it(
      'follows logs as they are written and ends when the replica exits',
      async () => {
        const instance = await workload.run(spec('follow', programs.speaker, { containerPort: null }));
        const received: (LogEntry & { ms: number })[] = [];
        const started = Date.now();
        for await (const entry of workload.logs(instance.id, { follow: true })) {
          received.push({ ...entry, ms: Date.now() - started });
        }
        expect(lines(received, 'stdout')).toEqual(lines(SPOKEN, 'stdout'));
        expect(lines(received, 'stderr')).toEqual(lines(SPOKEN, 'stderr'));
        // Streamed, not collected at the end: the first line came a good while before the last.
        const spread = (received.at(-1)?.ms ?? 0) - (received[0]?.ms ?? 0);
        expect(spread).toBeGreaterThan(programs.speakerGapMs * 1.5);
        expect((await workload.inspect(instance.id))?.status).toBe('exited');
      },
      timeout,
    );

    it(
      'stops following logs when the signal aborts',
      async () => {
        const instance = await sharedGreeter();
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        const started = Date.now();
        await logs(instance.id, { follow: true, signal: controller.signal });
        expect(Date.now() - started).toBeLessThan(3_000);
        expect((await workload.inspect(instance.id))?.status).toBe('running');
        expect(await logs(instance.id, { follow: true, signal: AbortSignal.abort() })).toEqual([]);
      },
      timeout,
    );
  });
}
