import { describe, expect, it } from 'vitest';
import { parseScaleRequest, parseVariableAssignments } from './assignments.ts';
import { CliError, EXIT } from './cli-error.ts';

function usageMessage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    return (err as CliError).message;
  }
  throw new Error('no usage error');
}

describe('parseVariableAssignments', () => {
  it('splits at the first = and keeps the rest of the value', () => {
    expect(parseVariableAssignments(['A=1', 'URL=pg://h/db?x=y', 'EMPTY=', 'SPACED=a b'])).toEqual({
      A: '1',
      URL: 'pg://h/db?x=y',
      EMPTY: '',
      SPACED: 'a b',
    });
  });

  it('lets a later word for the same key win', () => {
    expect(parseVariableAssignments(['A=1', 'A=2'])).toEqual({ A: '2' });
  });

  it.each([
    ['no =', ['A=1', 'B'], '"B": expected KEY=VALUE'],
    ['an empty key', ['=x'], 'expected KEY=VALUE'],
    ['a lower-case key', ['A=1', 'b=secret'], '"b": not a variable name'],
    ['a key starting with a digit', ['1X=2'], '"1X": not a variable name'],
    ['a dash', ['MY-KEY=1'], '"MY-KEY"'],
  ])('refuses %s, naming the key and not the value', (_name, words, problem) => {
    const message = usageMessage(() => parseVariableAssignments(words));
    expect(message).toContain(problem);
    expect(message).not.toContain('secret');
  });
});

describe('parseScaleRequest', () => {
  it('gathers counts and limits into one change per process type', () => {
    const changes = parseScaleRequest(['web=3', 'worker=0'], ['web=1024', 'worker=default'], ['worker=0.5', 'web=2']);
    expect(Object.fromEntries(changes)).toEqual({
      web: { replicas: 3, memoryMb: 1024, cpus: 2 },
      worker: { replicas: 0, memoryMb: null, cpus: 0.5 },
    });
  });

  it('gives nothing for no words (pier scale lists the types)', () => {
    expect(parseScaleRequest([], [], []).size).toBe(0);
  });

  it.each([
    ['a count over 100', ['web=101'], [], [], 'web=101: the replica count must be a whole number from 0 to 100'],
    ['a negative count', ['web=-1'], [], [], 'web=-1: the replica count'],
    ['a fractional count', ['web=1.5'], [], [], 'web=1.5'],
    ['a missing count', ['web'], [], [], 'web: expected type=count'],
    ['a bad type name', ['we b=1'], [], [], '"we b" is not a process type'],
    ['memory that is not whole MiB', [], ['web=1.5G'], [], '--memory web=1.5G: give MiB as a whole number'],
    ['cpus that are not a number', [], [], ['web=two'], '--cpus web=two: give a number of CPUs'],
    ['a limit without a type', [], ['512'], [], '--memory 512: expected type=value'],
  ])('refuses %s, naming the pair', (_name, counts, memory, cpus, problem) => {
    expect(usageMessage(() => parseScaleRequest(counts, memory, cpus))).toContain(problem);
  });
});
