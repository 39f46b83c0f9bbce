import { describe, expect, it } from 'vitest';
import { repositoryOrigin, sameRepositoryOrigin } from './repository-origin.ts';

describe('repositoryOrigin', () => {
  it.each([
    ['https://github.com/acme/shop.git', 'https://github.com'],
    ['https://GitHub.com/acme/shop.git', 'https://github.com'],
    ['https://github.com:443/acme/shop.git', 'https://github.com'],
    ['https://git.example.com:8443/acme/shop.git', 'https://git.example.com:8443'],
    ['http://127.0.0.1:3000/shop.git', 'http://127.0.0.1:3000'],
    ['https://user@github.com/acme/shop.git', 'https://github.com'],
    ['git@github.com:acme/shop.git', 'ssh://git@github.com'],
    ['deploy@git.example.com:shop.git', 'ssh://deploy@git.example.com'],
    ['github.com:acme/shop.git', 'ssh://github.com'],
    ['ssh://git@github.com/acme/shop.git', 'ssh://git@github.com'],
    ['ssh://git@github.com:22/acme/shop.git', 'ssh://git@github.com'],
    ['ssh://git@host.example:2222/acme/shop.git', 'ssh://git@host.example:2222'],
    ['git+ssh://git@github.com/acme/shop.git', 'ssh://git@github.com'],
    ['git://git.example.com/shop.git', 'git://git.example.com'],
    ['file:///srv/git/shop.git', 'file://'],
    ['not a url', null],
    ['ftp://example.com/shop.git', null],
  ])('%s → %s', (url, origin) => {
    expect(repositoryOrigin(url)).toBe(origin);
  });

  it.each([
    ['https://github.com/acme/shop.git', 'https://github.com/acme/other.git', true],
    ['https://github.com/acme/shop.git', 'https://github.com.evil.example/acme/shop.git', false],
    ['https://github.com/acme/shop.git', 'http://github.com/acme/shop.git', false],
    ['https://github.com/acme/shop.git', 'https://github.com:8443/acme/shop.git', false],
    ['git@github.com:acme/shop.git', 'ssh://git@github.com/acme/shop.git', true],
    ['git@github.com:acme/shop.git', 'git@evil.example:acme/shop.git', false],
    ['git@github.com:acme/shop.git', 'https://github.com/acme/shop.git', false],
    ['nonsense', 'nonsense', false],
  ])('same origin: %s and %s → %s', (a, b, same) => {
    expect(sameRepositoryOrigin(a, b)).toBe(same);
  });
});
