/** What the proxy must get right under load besides speed: a route switch loses nothing, client aborts leak nothing. */
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from './measure.ts';
import { startChild, startPier, startUpstream, stopChild } from './processes.ts';
import { type DataPath, fmt, type LoadResult, type Settings } from './shared.ts';

/** Switches the route to a second upstream mid-load, then drains and stops the first: failures must be 0. */
export async function rollingSwitch(dataPath: DataPath, settings: Settings): Promise<LoadResult> {
  const first = await startUpstream(1);
  const second = await startUpstream(1);
  const pier = await startPier(dataPath, first.port);
  try {
    const running = load(pier.port, settings, 6);
    await sleep(2_000);
    pier.switchTo(second.port);
    await sleep(1_000); // the route feed applies it (200 ms debounce); the old replica finishes what it has
    await stopChild(first.child);
    return await running;
  } finally {
    await Promise.all([pier.stop(), stopChild(second.child), stopChild(first.child)]);
  }
}

/** The proxy's RSS and open fds before, right after, and 6 s after a soak of requests the client aborts. */
export async function abortSoak(dataPath: DataPath, upstreamPort: number, settings: Settings) {
  const pier = await startPier(dataPath, upstreamPort);
  try {
    await load(pier.port, settings, 2);
    await sleep(500);
    const before = await pier.stats();
    const { message } = startChild(['abort-soak', String(pier.port), String(settings.soak), '50']);
    await message('result');
    const after = await pier.stats();
    await sleep(6_000); // past the 4 s keep-alive timeout of pooled upstream sockets
    const idle = await pier.stats();
    return { before, after, idle };
  } finally {
    await pier.stop();
  }
}

/** Both, on Pier's proxy with one process, for each data path given; printed. */
export async function measureResilience(dataPaths: DataPath[], upstreamPort: number, settings: Settings): Promise<void> {
  process.stdout.write('\nrolling switch under load (route → new upstream, old one drained and stopped; 1 process):\n');
  for (const dataPath of dataPaths) {
    const r = await rollingSwitch(dataPath, settings);
    process.stdout.write(`  pier (${dataPath}): ${r.requests} requests, ${r.errors} failed (target 0)\n`);
  }
  process.stdout.write(`\nsoak: ${settings.soak} requests aborted by the client (half before, half during the response):\n`);
  process.stdout.write('  data path      RSS MB before → after → idle     open fds before → after → idle\n');
  for (const dataPath of dataPaths) {
    const { before, after, idle } = await abortSoak(dataPath, upstreamPort, settings);
    process.stdout.write(
      `  ${dataPath.padEnd(12)} ${fmt(before.rssMb, 1).padStart(8)} → ${fmt(after.rssMb, 1)} → ${fmt(idle.rssMb, 1)}` +
        `${String(before.fds).padStart(16)} → ${after.fds} → ${idle.fds}\n`,
    );
  }
}
