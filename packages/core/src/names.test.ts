import { describe, expect, it } from 'vitest';
import { branchProblem, envKeyProblem, isName, repoPathProblem, tagPatternProblem } from './names.ts';

describe('isName', () => {
  it.each([
    ['web', true],
    ['my-app-2', true],
    ['a', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['Web', false],
    ['2web', false],
    ['-web', false],
    ['web-', false],
    ['we--b', false],
    ['a;id', false],
    ['$(id)', false],
    ['--help', false],
    ['../x', false],
    ['a b', false],
    ['a\n', false],
  ])('%j → %s', (value, ok) => {
    expect(isName(value)).toBe(ok);
  });
});

describe('envKeyProblem', () => {
  it.each([
    ['DATABASE_URL', true],
    ['_X', true],
    ['A1', true],
    ['lower', false],
    ['1ABC', false],
    ['A-B', false],
    ['A B', false],
    ['$(id)', false],
    ['', false],
    ['A'.repeat(256), false],
  ])('%j valid: %s', (key, ok) => {
    expect(envKeyProblem(key) === undefined).toBe(ok);
  });
});

describe('branchProblem', () => {
  it.each([
    ['main', true],
    ['feature/login-form', true],
    ['release-1.2', true],
    ['--upload-pack=touch /tmp/x', false],
    ['-b', false],
    ['$(id)', false],
    ['a..b', false],
    ['a b', false],
    ['a\tb', false],
    ['a\u0000b', false],
    ['x.lock', false],
    ['/abs', false],
    ['a//b', false],
    ['.hidden', false],
    ['a/.b', false],
    ['@', false],
    ['a@{1}', false],
    ['', false],
  ])('%j valid: %s', (branch, ok) => {
    expect(branchProblem(branch) === undefined).toBe(ok);
  });
});

describe('tagPatternProblem and repoPathProblem', () => {
  it.each([
    [tagPatternProblem, 'v*', true],
    [tagPatternProblem, 'release-?.*', true],
    [tagPatternProblem, '-x', false],
    [tagPatternProblem, 'v[0-9]', false],
    [repoPathProblem, 'Dockerfile', true],
    [repoPathProblem, 'docker/Dockerfile.prod', true],
    [repoPathProblem, '../Dockerfile', false],
    [repoPathProblem, '/etc/passwd', false],
    [repoPathProblem, 'a/./b', false],
    [repoPathProblem, '-f', false],
  ])('%o(%j) valid: %s', (check, value, ok) => {
    expect(check(value) === undefined).toBe(ok);
  });
});
