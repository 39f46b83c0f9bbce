import { describe, expect, it } from 'vitest';
import { credentialsFor, pulledImageTag } from './pull-image.ts';

const stored = { server: 'ghcr.io', username: 'ci', password: 'secret' };

describe('credentialsFor', () => {
  it.each([
    ['ghcr.io/acme/web:1', stored, { auth: stored }],
    ['GHCR.io/acme/web', stored, { auth: stored }],
    ['ghcr.io/acme/web', null, { auth: null }],
    [
      'registry.example.com/acme/web:1',
      stored,
      { auth: null, note: 'registry credentials are for ghcr.io, not registry.example.com: not sent' },
    ],
    ['acme/web:1', stored, { auth: null, note: 'registry credentials are for ghcr.io, not docker.io: not sent' }],
    ['acme/web:1', { ...stored, server: 'docker.io' }, { auth: { ...stored, server: 'docker.io' } }],
    ['127.0.0.1:5000/web', { ...stored, server: '127.0.0.1:5000' }, { auth: { ...stored, server: '127.0.0.1:5000' } }],
    ['127.0.0.1:5001/web', { ...stored, server: '127.0.0.1:5000' }, expect.objectContaining({ auth: null })],
  ])('%s with %j', (reference, credentials, expected) => {
    expect(credentialsFor(reference, credentials)).toEqual(expected);
  });
});

describe('pulledImageTag', () => {
  it('is one per deployment, under the app’s repository', () => {
    expect(pulledImageTag('web', '0b8f6c1e-1d2a-4c6e-9f00-7a1b2c3d4e5f')).toBe(
      'pier/web:pulled-0b8f6c1e-1d2a-4c6e-9f00-7a1b2c3d4e5f',
    );
  });
});
