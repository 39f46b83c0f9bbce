import { describe, expect, it } from 'vitest';
import { ForbiddenError } from './errors.ts';
import { parseImageReference } from './image-reference.ts';
import type { Principal } from './principal.ts';
import { assertMayPullFrom, internalRegistryReason } from './registry-reach.ts';

describe('internalRegistryReason', () => {
  it.each([
    ['127.0.0.1:4000', 'a loopback address (127.0.0.0/8)'],
    ['127.5.6.7', 'a loopback address'],
    ['localhost', 'this machine (localhost)'],
    ['localhost:5000', 'this machine (localhost)'],
    ['registry.localhost:5000', 'this machine (localhost)'],
    ['169.254.169.254', 'a link-local address (169.254.0.0/16, where cloud metadata services answer)'],
    ['10.0.0.5:5000', 'a private address (10.0.0.0/8)'],
    ['172.16.0.1', 'a private address (172.16.0.0/12)'],
    ['172.31.255.255', 'a private address (172.16.0.0/12)'],
    ['192.168.1.10:443', 'a private address (192.168.0.0/16)'],
    ['100.64.0.1', 'a shared private address (100.64.0.0/10)'],
    ['0.0.0.0:5000', 'the unspecified address range (0.0.0.0/8)'],
    // Other spellings a resolver reads as the same address.
    ['127.1:5000', 'a loopback address'],
    ['2130706433:5000', 'a loopback address'],
    ['0x7f.0.0.1', 'a loopback address'],
    ['0177.0.0.1', 'a loopback address'],
    ['0xa9fea9fe', 'a link-local address'],
    ['169.16689662', 'a link-local address'],
  ])('%s is %s', (registry, reason) => {
    expect(internalRegistryReason(registry)).toContain(reason);
  });

  it.each([
    'docker.io',
    'ghcr.io',
    'registry.example.com:8443',
    '8.8.8.8:5000',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '192.169.0.1',
    '1.2.3.4.example.com',
    '0xcafe.io',
    'localhost.example.com',
    '09.0.0.1',
    '1.2.3.4.5',
    '256.0.0.1',
  ])('%s is not refused', (registry) => {
    expect(internalRegistryReason(registry)).toBeNull();
  });
});

describe('assertMayPullFrom', () => {
  const admin: Principal = { role: 'admin', tokenId: null };
  const app: Principal = { role: 'app', appId: 'a', tokenId: 't' };

  it('lets an admin pull from loopback (the operator’s local registry)', () => {
    expect(() => assertMayPullFrom(admin, parseImageReference('127.0.0.1:4000/x'))).not.toThrow();
  });

  it('refuses an app token, naming the field and the reason', () => {
    const refuse = () => assertMayPullFrom(app, parseImageReference('169.254.169.254/latest/x'));
    expect(refuse).toThrow(ForbiddenError);
    expect(refuse).toThrow(/^image: the registry 169\.254\.169\.254 is a link-local address/);
  });

  it('lets an app token pull from a public registry and from Docker Hub', () => {
    expect(() => assertMayPullFrom(app, parseImageReference('ghcr.io/acme/web:1'))).not.toThrow();
    expect(() => assertMayPullFrom(app, parseImageReference('nginx'))).not.toThrow();
  });
});
