import { describe, expect, it } from 'vitest';
import { type AlertState, decideHostAlerts, type HostAlertThresholds, type HostSample } from './host-alerts.ts';

const GiB = 1024 ** 3;
const thresholds: HostAlertThresholds = { diskPercent: 90, memoryAvailablePercent: 10, memorySamples: 2 };
const now = new Date('2026-01-01T00:00:00Z');

function sample(rootFreeGiB: number, availableGiB = 8): HostSample {
  return {
    memoryTotalBytes: 16 * GiB,
    memoryAvailableBytes: availableGiB * GiB,
    disks: [{ name: '/', totalBytes: 100 * GiB, freeBytes: rootFreeGiB * GiB }],
  };
}
const state = (firing: boolean, data: Record<string, unknown> = {}): AlertState => ({ firing, since: now, data });

describe('decideHostAlerts: disks', () => {
  const cases: [string, number, AlertState | undefined, string[], boolean | null][] = [
    ['below the threshold, never fired: nothing', 50, undefined, [], null],
    ['reaches the threshold: fires', 10, undefined, ['host.disk'], true],
    ['above it and firing already: nothing more', 5, state(true), [], null],
    ['back below it: recovered', 40, state(true), ['host.recovered'], false],
    ['just below it while firing (89%): still firing, no flapping', 11, state(true), [], null],
    ['more than two points below it while firing (87%): recovered', 13, state(true), ['host.recovered'], false],
    ['below it and cleared already: nothing', 40, state(false), [], null],
  ];
  it.each(cases)('%s', (_name, freeGiB, was, kinds, firing) => {
    const previous = new Map(was ? [['host.disk:/', was]] : []);
    const decision = decideHostAlerts(sample(freeGiB), previous, thresholds, now);
    expect(decision.events.map((e) => e.kind)).toEqual(kinds);
    const written = decision.states.find((s) => s.key === 'host.disk:/');
    expect(written?.firing ?? null).toBe(firing);
  });

  it('says which disk, how full and the threshold', () => {
    const [event] = decideHostAlerts(sample(7), new Map(), thresholds, now).events;
    expect(event?.message).toBe('Disk / is 93% full (7.0 GiB free of 100.0 GiB), above the threshold of 90%.');
  });
});

describe('decideHostAlerts: memory', () => {
  const cases: [string, number, AlertState | undefined, string[], Record<string, unknown> | null][] = [
    ['plenty available: nothing written', 8, undefined, [], null],
    ['a first low sample: counted, not fired', 1, undefined, [], { firing: false, lowSamples: 1 }],
    ['a second low sample in a row: fires', 1, state(false, { lowSamples: 1 }), ['host.memory'], { firing: true, lowSamples: 2 }],
    ['low again while firing: nothing', 1, state(true, { lowSamples: 2 }), [], null],
    [
      'available again while firing: recovered',
      8,
      state(true, { lowSamples: 2 }),
      ['host.recovered'],
      { firing: false, lowSamples: 0 },
    ],
    ['just above the threshold while firing (11%): still firing', 1.76, state(true, { lowSamples: 2 }), [], null],
    [
      'two points above it while firing (12.5%): recovered',
      2,
      state(true, { lowSamples: 2 }),
      ['host.recovered'],
      { firing: false, lowSamples: 0 },
    ],
    [
      'one low sample then a good one: the count starts over',
      8,
      state(false, { lowSamples: 1 }),
      [],
      { firing: false, lowSamples: 0 },
    ],
  ];
  it.each(cases)('%s', (_name, availableGiB, was, kinds, written) => {
    const previous = new Map(was ? [['host.memory', was]] : []);
    const decision = decideHostAlerts(sample(50, availableGiB), previous, thresholds, now);
    expect(decision.events.map((e) => e.kind)).toEqual(kinds);
    const state = decision.states.find((s) => s.key === 'host.memory');
    expect(state ? { firing: state.firing, lowSamples: state.data.lowSamples } : null).toEqual(written);
  });
});

describe('decideHostAlerts: dedupe keys', () => {
  it('keys a transition by the state it ends, so a pass deciding again after a failed recording records it once', () => {
    const previous = new Map([['host.disk:/', state(false)]]);
    const first = decideHostAlerts(sample(5), previous, thresholds, now).events[0];
    const retried = decideHostAlerts(sample(4), previous, thresholds, new Date(now.getTime() + 60_000)).events[0];
    expect(first?.dedupeKey).toBe(retried?.dedupeKey);
    const cleared = decideHostAlerts(sample(50), new Map([['host.disk:/', state(true)]]), thresholds, now).events[0];
    expect(cleared?.dedupeKey).not.toBe(first?.dedupeKey);
  });
});
