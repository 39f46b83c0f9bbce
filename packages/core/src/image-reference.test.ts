import { describe, expect, it } from 'vitest';
import { imageReferenceProblem, parseImageReference, pullArguments, registryServer } from './image-reference.ts';

const DIGEST = `sha256:${'a1'.repeat(32)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: null, digest: null }],
    ['nginx:1.25', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25', digest: null }],
    ['acme/web:v2', { registry: 'docker.io', repository: 'acme/web', tag: 'v2', digest: null }],
    ['ghcr.io/acme/web:1.4.0', { registry: 'ghcr.io', repository: 'acme/web', tag: '1.4.0', digest: null }],
    ['GHCR.io/acme/web', { registry: 'ghcr.io', repository: 'acme/web', tag: null, digest: null }],
    [
      '127.0.0.1:5000/team/app_one:latest',
      { registry: '127.0.0.1:5000', repository: 'team/app_one', tag: 'latest', digest: null },
    ],
    ['localhost/web', { registry: 'localhost', repository: 'web', tag: null, digest: null }],
    ['registry.example.com:8443/a/b/c', { registry: 'registry.example.com:8443', repository: 'a/b/c', tag: null, digest: null }],
    [`ghcr.io/acme/web@${DIGEST}`, { registry: 'ghcr.io', repository: 'acme/web', tag: null, digest: DIGEST }],
    [`ghcr.io/acme/web:1.4@${DIGEST}`, { registry: 'ghcr.io', repository: 'acme/web', tag: '1.4', digest: DIGEST }],
    ['my-org/web__x.y:TAG_1', { registry: 'docker.io', repository: 'my-org/web__x.y', tag: 'TAG_1', digest: null }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
    expect(imageReferenceProblem(text)).toBeNull();
  });

  it.each([
    ['', 'must not be empty'],
    ['ghcr.io/acme/web 1', 'whitespace or control characters'],
    ['ghcr.io/acme/web\n', 'whitespace or control characters'],
    ['ghcr.io/acme/web\u0000', 'whitespace or control characters'],
    ['ghcr.io/Acme/web', 'name component "Acme"'],
    ['acme//web', 'name component ""'],
    ['acme/-web', 'name component "-web"'],
    ['ghcr.io/acme/web:', 'tag ""'],
    ['ghcr.io/acme/web:.x', 'tag ".x"'],
    [`ghcr.io/acme/web:${'x'.repeat(129)}`, 'tag "'],
    ['ghcr.io/acme/web@sha256:abc', 'digest "sha256:abc"'],
    [`ghcr.io/acme/web@md5:${'a'.repeat(32)}`, 'digest'],
    ['-bad.io/acme/web', 'registry "-bad.io"'],
    [':5000/web', 'registry'],
    ['@sha256:', 'digest'],
    [`a/${'b'.repeat(260)}`, 'at most 255'],
    ['--help', 'name component "--help"'],
  ])('refuses %j: %s', (text, problem) => {
    expect(() => parseImageReference(text)).toThrow(expect.objectContaining({ field: 'image' }));
    expect(imageReferenceProblem(text)).toContain(problem);
  });
});

describe('pullArguments', () => {
  it.each([
    ['nginx', { fromImage: 'docker.io/library/nginx', tag: 'latest' }],
    ['ghcr.io/acme/web:1.4', { fromImage: 'ghcr.io/acme/web', tag: '1.4' }],
    [`ghcr.io/acme/web:1.4@${DIGEST}`, { fromImage: 'ghcr.io/acme/web', tag: DIGEST }],
  ])('%s', (text, expected) => {
    expect(pullArguments(parseImageReference(text))).toEqual(expected);
  });
});

describe('registryServer', () => {
  it.each([
    ['ghcr.io', 'ghcr.io'],
    ['https://ghcr.io/', 'ghcr.io'],
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['docker.io', 'docker.io'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['Registry.Example.com:8443', 'registry.example.com:8443'],
    ['ghcr.io/acme', null],
    ['not a host', null],
    ['', null],
  ])('%j → %j', (text, server) => {
    expect(registryServer(text)).toBe(server);
  });
});
