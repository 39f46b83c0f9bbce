import { describe, expect, it } from 'vitest';
import { majorsInRange } from './version-range.ts';

const MAJORS = [16, 18, 20, 22];

describe('majorsInRange', () => {
  it.each<[string, number[] | null]>([
    ['>=18', [22, 20, 18]],
    ['>= 18', [22, 20, 18]],
    ['>18', [22, 20]],
    ['>18.0.0', [22, 20, 18]],
    ['<20', [18, 16]],
    ['<=20', [20, 18, 16]],
    ['^20.11.1', [20]],
    ['^18 || ^22', [22, 18]],
    ['~20.5', [20]],
    ['18.x', [18]],
    ['20', [20]],
    ['v20.11.0', [20]],
    ['>=18 <21', [20, 18]],
    ['>=20.12 <21 || >=22', [22, 20]],
    ['16 - 20', [20, 18, 16]],
    ['16 - 20.1', [20, 18, 16]],
    ['*', [22, 20, 18, 16]],
    ['', [22, 20, 18, 16]],
    ['>=24', []],
    ['^0.10', []],
    ['lts/*', null],
    ['node', null],
    ['>=18 foo', null],
  ])('%j admits %j', (range, expected) => {
    expect(majorsInRange(range, MAJORS)).toEqual(expected);
  });
});
