import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeExit, formatDuration, planRestart, RESTART_BACKOFF } from '../../scripts/supervisor/restart-plan.ts';
import { Supervisor } from '../../scripts/supervisor/supervisor.ts';

describe('planRestart', () => {
  it.each([
    // streak before, ran for, → streak, delay
    { streak: 0, ranMs: 200, next: 1, delayMs: 1000 },
    { streak: 1, ranMs: 1500, next: 2, delayMs: 2000 },
    { streak: 2, ranMs: 1500, next: 3, delayMs: 4000 },
    { streak: 3, ranMs: 1500, next: 4, delayMs: 8000 },
    { streak: 4, ranMs: 1500, next: 5, delayMs: 16_000 },
    { streak: 5, ranMs: 1500, next: 6, delayMs: 30_000 },
    { streak: 6, ranMs: 59_999, next: 7, delayMs: 30_000 },
    { streak: 5000, ranMs: 100, next: 5001, delayMs: 30_000 },
    // A quiet minute: the crash starts a new streak.
    { streak: 6, ranMs: 60_000, next: 1, delayMs: 1000 },
    { streak: 0, ranMs: 3_600_000, next: 1, delayMs: 1000 },
  ])(
    'after $streak restarts in a row and $ranMs ms of running: restart $next in $delayMs ms',
    ({ streak, ranMs, next, delayMs }) => {
      expect(planRestart(streak, ranMs)).toEqual({ streak: next, delayMs });
    },
  );

  it('takes other settings', () => {
    const backoff = { firstDelayMs: 100, maxDelayMs: 250, quietMs: 1000 };
    expect([0, 1, 2, 3].map((streak) => planRestart(streak, 10, backoff).delayMs)).toEqual([100, 200, 250, 250]);
    expect(planRestart(3, 1000, backoff)).toEqual({ streak: 1, delayMs: 100 });
  });

  it('the default is 1 s doubling to 30 s, reset after a minute', () => {
    expect(RESTART_BACKOFF).toEqual({ firstDelayMs: 1000, maxDelayMs: 30_000, quietMs: 60_000 });
  });
});

describe('log wording', () => {
  it.each([
    { code: null, signal: 'SIGKILL' as const, text: 'was killed by SIGKILL' },
    { code: 1, signal: null, text: 'exited with code 1' },
    { code: 0, signal: null, text: 'exited with code 0' },
    { code: null, signal: null, text: 'exited with code unknown' },
  ])('$code/$signal: $text', ({ code, signal, text }) => {
    expect(describeExit(code, signal)).toBe(text);
  });

  it.each([
    { ms: 850, text: '850 ms' },
    { ms: 1000, text: '1 s' },
    { ms: 12_345, text: '12.3 s' },
    { ms: 30_000, text: '30 s' },
    { ms: 245_000, text: '4 min 05 s' },
  ])('$ms ms: $text', ({ ms, text }) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

/** Real child processes, short backoff: what the supervisor does when one of them exits. */
describe('Supervisor', () => {
  const node = (name: string, script: string) => ({ name, command: process.execPath, args: ['-e', script] });
  const LONG = 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));';
  const backoff = { firstDelayMs: 200, maxDelayMs: 800, quietMs: 60_000 };

  async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  function pidsOf(lines: string[], name: string): number[] {
    return lines.flatMap((line) => {
      const match = new RegExp(`^pier: ${name} started \\(pid (\\d+)\\)$`).exec(line);
      return match ? [Number(match[1])] : [];
    });
  }

  it('restarts a crashing process with growing delays and leaves the others running; stop() ends them all', async () => {
    const lines: { at: number; line: string }[] = [];
    const supervisor = new Supervisor({
      processes: [node('crashy', 'setTimeout(() => process.exit(3), 50)'), node('steady', LONG)],
      backoff,
      stopTimeoutMs: 5000,
      log: (line) => lines.push({ at: Date.now(), line }),
    });
    supervisor.start();
    const text = () => lines.map((l) => l.line);
    try {
      await until('crashy has been started 5 times', () => pidsOf(text(), 'crashy').length >= 5);
      const steady = pidsOf(text(), 'steady');
      expect(steady).toHaveLength(1);
      expect(() => process.kill(steady[0] as number, 0)).not.toThrow();

      const restarts = text().filter((line) => line.startsWith('pier: crashy (pid'));
      expect(restarts[0]).toMatch(
        /^pier: crashy \(pid \d+\) exited with code 3 after \d+ ms; restarting it in 200 ms \(restart 1 in a row; the other processes keep running\)$/,
      );
      expect(restarts.slice(0, 4).map((line) => /restarting it in (\d+) ms/.exec(line)?.[1])).toEqual([
        '200',
        '400',
        '800',
        '800',
      ]);
      // Each start follows the exit before it by at least the planned delay.
      const starts = lines.filter((l) => l.line.startsWith('pier: crashy started')).map((l) => l.at);
      const exits = lines.filter((l) => l.line.startsWith('pier: crashy (pid')).map((l) => l.at);
      [200, 400, 800, 800].forEach((delay, i) => {
        expect((starts[i + 1] as number) - (exits[i] as number)).toBeGreaterThanOrEqual(delay - 5);
      });
    } finally {
      expect(await supervisor.stop('SIGTERM')).toBe(0);
    }
    for (const pid of [...pidsOf(text(), 'crashy'), ...pidsOf(text(), 'steady')]) {
      expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    }
    // A stop is no crash: nothing is restarted afterwards.
    const count = lines.length;
    await new Promise((resolve) => setTimeout(resolve, backoff.maxDelayMs + 200));
    expect(lines.length).toBe(count);
  });

  it('a SIGKILLed process is started again; a process that ignores the stop signal is killed after the timeout', async () => {
    const ready = mkdtempSync(join(tmpdir(), 'pier-supervisor-'));
    onTestFinished(() => rmSync(ready, { recursive: true, force: true }));
    const lines: string[] = [];
    const supervisor = new Supervisor({
      // Writes a file named after its pid once it ignores SIGTERM.
      processes: [
        node(
          'stubborn',
          `setInterval(() => {}, 1000); process.on("SIGTERM", () => {}); require("fs").writeFileSync(${JSON.stringify(ready)} + "/" + process.pid, "")`,
        ),
      ],
      backoff,
      stopTimeoutMs: 500,
      log: (line) => lines.push(line),
    });
    supervisor.start();
    await until('it has started', () => pidsOf(lines, 'stubborn').length === 1);
    process.kill(pidsOf(lines, 'stubborn')[0] as number, 'SIGKILL');
    await until('it has been started again', () => pidsOf(lines, 'stubborn').length === 2);
    expect(lines[1]).toMatch(/^pier: stubborn \(pid \d+\) was killed by SIGKILL after .*; restarting it in 200 ms/);
    const second = pidsOf(lines, 'stubborn')[1] as number;
    await until('the new process ignores SIGTERM', () => existsSync(join(ready, String(second))));
    const stoppedAt = Date.now();
    expect(await supervisor.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(450);
    expect(() => process.kill(second, 0)).toThrow(/ESRCH/);
  });

  it('does not restart a process whose configuration is invalid (exit 78); done is 78 once all have given up', async () => {
    const lines: string[] = [];
    const supervisor = new Supervisor({
      processes: [node('a', 'process.exit(78)'), node('b', 'setTimeout(() => process.exit(78), 200)')],
      backoff,
      stopTimeoutMs: 500,
      log: (line) => lines.push(line),
    });
    supervisor.start();
    expect(await supervisor.done).toBe(78);
    expect(lines.filter((line) => line.includes('its configuration is invalid, so it is not restarted'))).toHaveLength(2);
    expect(pidsOf(lines, 'a')).toHaveLength(1);
  });
});
