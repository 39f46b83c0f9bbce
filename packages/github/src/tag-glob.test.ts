import { describe, expect, it } from 'vitest';
import { matchesTagPattern } from './tag-glob.ts';

describe('matchesTagPattern', () => {
  it.each<[string, string, boolean]>([
    ['v*', 'v1.2.3', true],
    ['v*', 'v', true],
    ['v*', 'release-1', false],
    ['v*', 'xv1', false],
    ['V*', 'v1', false],
    ['*', 'anything/at/all', true],
    ['v?', 'v1', true],
    ['v?', 'v12', false],
    ['v?', 'v', false],
    ['?.?.?', '0.0.1', true],
    ['?.?.?', '0.0.10', false],
    ['release-*', 'release-2024/01', true],
    ['*-rc', 'v1-rc', true],
    ['*-rc', 'v1-rc2', false],
    ['*-rc*', 'v1-rc2', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'abcX', false],
    ['a**b', 'ab', true],
    ['*a', 'aaaa', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['exact', 'inexact', false],
    // Everything but * and ? is literal: none of these act as regular-expression syntax.
    ['v1.*', 'v1x2', false],
    ['v1.*', 'v1.2', true],
    ['v1+build', 'v11build', false],
    ['v1+build', 'v1+build', true],
    ['.*', 'anything', false],
    ['[ab]', 'a', false],
    ['[ab]', '[ab]', true],
    ['a|b', 'a', false],
    ['^v$', 'v', false],
    ['(v)', '(v)', true],
    ['\\d', '1', false],
  ])('%j matches %j: %s', (pattern, name, expected) => {
    expect(matchesTagPattern(pattern, name)).toBe(expected);
  });

  it('stays fast on patterns that make backtracking regular expressions explode', () => {
    const started = performance.now();
    expect(matchesTagPattern(`${'*a'.repeat(60)}b`, 'a'.repeat(255))).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
