import { describe, expect, it } from 'vitest';
import { cloneUrlProblem, parseCloneUrl } from './clone-url.ts';

describe('cloneUrlProblem', () => {
  it.each([
    ['https://github.com/acme/app.git', 'https'],
    ['http://127.0.0.1:8080/app.git', 'http'],
    ['ssh://git@github.com:22/acme/app.git', 'ssh'],
    ['git@github.com:acme/app.git', 'ssh'],
    ['github.com:acme/app.git', 'ssh'],
    ['git://example.org/app.git', 'git'],
    ['https://x-access-token@github.com/acme/app.git', 'https'],
  ])('accepts %s', (url, protocol) => {
    expect(cloneUrlProblem(url, { allowFile: false })).toBeUndefined();
    expect(parseCloneUrl(url, { allowFile: false }).protocol).toBe(protocol);
  });

  it('accepts file:// only when allowed', () => {
    expect(cloneUrlProblem('file:///srv/app.git', { allowFile: true })).toBeUndefined();
    expect(cloneUrlProblem('file:///srv/app.git', { allowFile: false })).toMatch(/not allowed/);
  });

  it.each([
    ['', /1 to 2048/],
    ['--upload-pack=touch', /dash/],
    ['-oProxyCommand=x:y', /dash/],
    ['ext::sh -c touch% /tmp/pwned', /whitespace/],
    ['ext::sh', /transport/],
    ['fd::3', /transport/],
    ['ssh://-oProxyCommand=x/y', /dash|valid/],
    ['ssh://-user@host/y', /dash/],
    ['git@host:-path', /dash/],
    ['https://u:p@github.com/a.git', /password/],
    ['https://github.com/', /repository path/],
    ['ftp://example.org/a.git', /must be an https/],
    ['/srv/app.git', /must be an https/],
    ['./app', /must be an https/],
    ['https://github.com/a\nb', /whitespace/],
    ['https://github.com/a\u0000', /whitespace/],
    ['https://exämple.org/a.git', /non-ASCII/],
  ])('refuses %j', (url, problem) => {
    expect(cloneUrlProblem(url, { allowFile: true })).toMatch(problem);
  });

  it('parseCloneUrl throws a ValidationError naming cloneUrl', () => {
    expect(() => parseCloneUrl('ext::sh', { allowFile: false })).toThrow(expect.objectContaining({ field: 'cloneUrl' }));
  });
});
