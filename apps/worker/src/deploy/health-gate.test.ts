import { describe, expect, it } from 'vitest';
import { exitedReason } from './health-gate.ts';

describe('exitedReason', () => {
  it.each([
    ['exited with a code', { exitCode: 1, oomKilled: false, memoryMb: 512 }, 'the container exited with code 1'],
    ['no code from the runtime', { exitCode: null, oomKilled: false, memoryMb: null }, 'the container exited'],
    [
      'killed for its memory limit',
      { exitCode: 137, oomKilled: true, memoryMb: 64 },
      'the container ran out of memory at 64 MiB: raise memoryMb',
    ],
    [
      'out of memory, limit not known',
      { exitCode: 137, oomKilled: true, memoryMb: null },
      'the container ran out of memory: raise memoryMb',
    ],
  ])('%s', (_name, container, reason) => {
    expect(exitedReason(container)).toBe(reason);
  });
});
