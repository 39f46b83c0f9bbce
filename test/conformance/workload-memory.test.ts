import { LABEL_APP } from '@pier/core';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWorkload, type Program } from '../support/memory-workload.ts';
import { describeWorkloadConformance, SPOKEN } from './workload.ts';

const GAP_MS = 20;
const greets: Program['serve'] = (_request, env) => ({ status: 200, body: env.GREETING ?? '' });

const workload = new MemoryWorkload({
  graceScale: 0.01,
  programs: {
    greeter: { serve: greets, logs: ['ready'], termLogs: ['bye'] },
    'ignores-term': { serve: greets, logs: ['ready'], ignoresSigterm: true },
    crashes: { serve: greets, logs: ['ready'], exitAfterMs: 30, exitCode: 3 },
    speaker: { logs: [...SPOKEN], logGapMs: GAP_MS, exitAfterMs: GAP_MS * SPOKEN.length },
    allocates: { allocatesMb: 200, logs: ['allocated'] },
  },
});
afterAll(() => workload.close());

describeWorkloadConformance('MemoryWorkload', () => workload, {
  greeter: { image: 'greeter' },
  ignoresTerm: { image: 'ignores-term' },
  crashes: { image: 'crashes' },
  outOfMemory: { image: 'allocates' },
  speaker: { image: 'speaker' },
  speakerGapMs: GAP_MS,
  graceScale: 0.01,
  timeoutMs: 5_000,
});

// What reconciler tests express with the fake, beyond the port's contract.
describe('MemoryWorkload programs', () => {
  const labels = { [LABEL_APP]: 'web' };
  const fake = new MemoryWorkload({
    graceScale: 0.01,
    programs: {
      'pier/web': { serve: (request, env) => ({ status: 200, body: `release ${env.RELEASE} at ${request.path}` }) },
      unhealthy: { serve: () => ({ status: 503, body: 'not yet' }) },
      deaf: { serve: greets, listens: false },
      'exits-at-once': { exitAfterMs: 0, exitCode: 1, logs: ['bad config'] },
      drains: { serve: greets, termDelayMs: 300 },
    },
  });
  afterAll(() => fake.close());
  let count = 0;
  const spec = (image: string, env: Record<string, string> = {}) => ({
    name: `web-${++count}`,
    image,
    env,
    labels,
    containerPort: 8080,
    networks: [],
    limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 1e9, pids: 64 },
  });
  const get = async (address: { port: number } | null) => {
    const response = await fetch(`http://127.0.0.1:${address?.port}/health`, { signal: AbortSignal.timeout(1_000) });
    return { status: response.status, body: await response.text() };
  };

  it('picks a program by the whole image or its name without the tag; serves with the env; define adds one', async () => {
    const web = await fake.run(spec('pier/web:abc123', { RELEASE: 'r3' }));
    expect(await get(web.address)).toEqual({ status: 200, body: 'release r3 at /health' });
    expect(fake.instances().find((i) => i.id === web.id)?.spec.env).toEqual({ RELEASE: 'r3' });
    fake.define('pier/web:def456', { serve: () => ({ status: 500, body: 'boom' }) });
    expect(await get((await fake.run(spec('pier/web:def456'))).address)).toEqual({ status: 500, body: 'boom' });
  });

  it('answers 503 when unhealthy; never listening, connections are closed', async () => {
    expect(await get((await fake.run(spec('unhealthy'))).address)).toEqual({ status: 503, body: 'not yet' });
    const deaf = await fake.run(spec('deaf'));
    expect(deaf.address).not.toBeNull();
    await expect(get(deaf.address)).rejects.toThrow();
  });

  it('exits at once: running when run resolves, then exited with its code and its lines', async () => {
    const started = await fake.run(spec('exits-at-once'));
    expect(started.status).toBe('running');
    await expect.poll(async () => (await fake.inspect(started.id))?.exitCode, { timeout: 1_000, interval: 5 }).toBe(1);
    const lines = [];
    for await (const entry of fake.logs(started.id, {})) lines.push(entry.line);
    expect(lines).toEqual(['bad config']);
  });

  it('outOfMemory simulates the OOM killer: exited 137, out of memory; a plain kill is not', async () => {
    const web = await fake.run(spec('pier/web:abc123'));
    fake.outOfMemory(web.id);
    expect(await fake.inspect(web.id)).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: true, address: null });
    const other = await fake.run(spec('pier/web:abc123'));
    fake.kill(other.id);
    expect(await fake.inspect(other.id)).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: false });
    expect(() => fake.outOfMemory('nobody')).toThrow('does not exist');
  });

  it('kill simulates a crash: exited with the code, its server closed', async () => {
    const web = await fake.run(spec('pier/web:abc123'));
    fake.kill(web.id, 139);
    expect(await fake.inspect(web.id)).toMatchObject({ status: 'exited', exitCode: 139, address: null });
    await expect(get(web.address)).rejects.toThrow();
    expect(() => fake.kill('nobody', 1)).toThrow('does not exist');
  });

  it('drains on SIGTERM: serves until it exits 0, after its drain and before the grace', async () => {
    const drains = await fake.run(spec('drains'));
    const started = Date.now();
    const stopped = fake.stop(drains.id, 100); // 1 s of grace at this scale; the drain is 300 ms
    expect((await get(drains.address)).status).toBe(200);
    await stopped;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await fake.inspect(drains.id))?.exitCode).toBe(0);
  });

  it('instances() keeps every replica ever run, removed ones marked; list leaves those out', async () => {
    const own = new MemoryWorkload({ programs: { web: {} } });
    const first = await own.run(spec('web'));
    await own.remove(first.id);
    const second = await own.run({ ...spec('web'), name: first.name }); // a removed replica's name is free again
    expect(own.instances().map((i) => [i.id, i.removed, i.status])).toEqual([
      [first.id, true, 'exited'],
      [second.id, false, 'running'],
    ]);
    expect((await own.list({})).map((i) => i.id)).toEqual([second.id]);
    own.close();
    expect((await own.inspect(second.id))?.status).toBe('exited');
  });

  it('logs since a time leaves out what came before', async () => {
    const own = new MemoryWorkload({ programs: { talker: { logs: ['early', 'late'], logGapMs: 30 } } });
    const talker = await own.run(spec('talker'));
    await expect.poll(async () => (await collect(own, talker.id)).length).toBe(2);
    const late = (await collect(own, talker.id))[1]?.at ?? new Date();
    expect((await collect(own, talker.id, late)).map((e) => e.line)).toEqual(['late']);
    own.close();
  });
});

async function collect(workload: MemoryWorkload, id: string, since?: Date) {
  const entries = [];
  for await (const entry of workload.logs(id, since ? { since } : {})) entries.push(entry);
  return entries;
}
