import { describe, expect, it } from 'vitest';
import { redisAuthConfig } from './redis-startup.ts';

describe('redisAuthConfig', () => {
  it.each([
    ['pA55@w:rd/#%+&=', 'requirepass "pA55@w:rd/#%+&="'],
    ['a"b', 'requirepass "a\\"b"'],
    ['a\\b', 'requirepass "a\\\\b"'],
    ['a b', 'requirepass "a b"'],
  ])('quotes %j', (password, line) => {
    expect(redisAuthConfig(password).split('\n')).toContain(line);
  });

  it.each(['a\nrequirepass x', 'a\rb', 'a\u0000b'])('refuses %j', (password) => {
    expect(() => redisAuthConfig(password)).toThrow(/control characters/);
  });
});
