import { describe, expect, it } from 'vitest';
import { pullFailureReason } from './pull-errors.ts';

const attempt = { reference: '127.0.0.1:5000/acme/web:1', registry: '127.0.0.1:5000' };

describe('pullFailureReason', () => {
  it.each([
    // The Engine's own messages, as Docker 20.10 words them against Debian's docker-registry.
    ['unauthorized: authentication required', true, 'registry credentials rejected for 127.0.0.1:5000'],
    ['unauthorized: authentication required', false, '127.0.0.1:5000 asks for credentials and the app has none'],
    [
      'error parsing HTTP 400 response body: invalid character \'C\' looking for beginning of value: "Client sent an HTTP request to an HTTPS server.\\n"',
      false,
      '127.0.0.1:5000 asks for credentials',
    ],
    ['Head "https://ghcr.io/v2/acme/web/manifests/1": unauthorized', true, 'registry credentials rejected for 127.0.0.1:5000'],
    [
      'manifest for 127.0.0.1:5000/acme/web:1 not found: manifest unknown: manifest unknown',
      true,
      'image 127.0.0.1:5000/acme/web:1 not found on 127.0.0.1:5000',
    ],
    [
      "pull access denied for acme/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      false,
      'refused access to 127.0.0.1:5000/acme/web:1: the image does not exist or needs registry credentials',
    ],
    [
      'Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
      true,
      'registry 127.0.0.1:5000 unreachable: Get "http://127.0.0.1:5000/v2/": dial tcp',
    ],
    ['Get "https://nope.invalid/v2/": dial tcp: lookup nope.invalid: no such host', false, 'registry 127.0.0.1:5000 unreachable'],
    ['something else entirely', true, 'pulling 127.0.0.1:5000/acme/web:1 failed: something else entirely'],
  ])('%s (credentials sent: %s)', (text, authSent, reason) => {
    expect(pullFailureReason(text, { ...attempt, authSent })).toContain(reason);
  });

  it('shortens a long message', () => {
    expect(pullFailureReason('x'.repeat(1000), { ...attempt, authSent: false }).length).toBeLessThan(400);
  });
});
