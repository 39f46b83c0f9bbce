import { describe, expect, it } from 'vitest';
import { cpuBusyShare, parseProcStat } from './host-cpu.ts';

describe('parseProcStat', () => {
  it.each([
    [
      'user nice system idle iowait irq softirq steal',
      'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n',
      { busy: 150, total: 1000 },
    ],
    ['an old kernel with four fields', 'cpu 10 0 10 80\n', { busy: 20, total: 100 }],
    ['no cpu line', 'intr 1 2 3\n', null],
  ])('%s', (_, text, expected) => {
    expect(parseProcStat(text)).toEqual(expected);
  });
});

describe('cpuBusyShare', () => {
  it.each([
    ['a quarter busy between readings', { busy: 100, total: 1000 }, { busy: 350, total: 2000 }, 0.25],
    ['no previous reading', null, { busy: 1, total: 2 }, 0],
    ['no time passed', { busy: 1, total: 2 }, { busy: 1, total: 2 }, 0],
  ])('%s', (_, previous, current, expected) => {
    expect(cpuBusyShare(previous, current)).toBeCloseTo(expected, 9);
  });
});
