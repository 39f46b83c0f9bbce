import { createServer, connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { addressReach, hostReach } from './outbound-address.ts';
import { OutboundAddressRefused, outboundLookup } from './outbound-lookup.ts';
import { checkOutboundUrl, type OutboundUrlOptions, pierServicePorts } from './outbound-url.ts';

const RESERVED = [3000, 8081, 5432, 6379];
const drain = (allowLoopback = false): OutboundUrlOptions => ({
  field: 'url',
  use: 'drain',
  allowLoopback,
  reservedPorts: RESERVED,
});
const channel = (allowLoopback = false): OutboundUrlOptions => ({
  field: 'url',
  use: 'channel',
  allowLoopback,
  reservedPorts: RESERVED,
});

describe('checkOutboundUrl accepts', () => {
  it.each([
    ['https://logs.example.com/ingest?x=1', drain(), 'https://logs.example.com:443'],
    ['https://user:secret@logs.example.com:8443/in', drain(), 'https://logs.example.com:8443'],
    ['syslog+tls://logs.example.com:6514', drain(), 'syslog+tls://logs.example.com:6514'],
    ['SYSLOG+TLS://Logs.Example.COM:6514/', drain(), 'syslog+tls://logs.example.com:6514'],
    ['syslog://127.0.0.1:5514', drain(true), 'syslog://127.0.0.1:5514'],
    ['http://127.0.0.1:8080/in', drain(true), 'http://127.0.0.1:8080'],
    ['syslog://localhost:5514', drain(true), 'syslog://localhost:5514'],
    ['syslog+tls://10.0.0.5:6514', drain(true), 'syslog+tls://10.0.0.5:6514'],
    ['https://[::1]:8443/', drain(true), 'https://[::1]:8443'],
    ['https://hooks.example.com/x', channel(), 'https://hooks.example.com:443'],
    ['http://127.0.0.1:9000/hook', channel(true), 'http://127.0.0.1:9000'],
    ['https://8.8.8.8/', channel(), 'https://8.8.8.8:443'],
    ['https://[2001:db8::1]:444/', channel(), 'https://[2001:db8::1]:444'],
  ])('%s', (raw, options, target) => {
    expect(checkOutboundUrl(raw, options).target).toBe(target);
  });

  it('gives the host to connect to, IPv6 without brackets, and whether it is internal', () => {
    expect(checkOutboundUrl('https://[::1]:8443/', drain(true))).toMatchObject({ host: '::1', port: 8443, internal: true });
    expect(checkOutboundUrl('syslog+tls://logs.example.com:6514', drain())).toMatchObject({
      internal: false,
      scheme: 'syslog+tls',
    });
  });
});

describe('checkOutboundUrl refuses, naming the field', () => {
  it.each([
    ['not a url', drain(true), /must be an absolute URL/],
    ['ftp://logs.example.com/', drain(true), /scheme ftp: is not allowed; use https:, syslog\+tls:, syslog:, http:/],
    ['http://logs.example.com/', drain(true), /clear text and is allowed only to loopback; use https:/],
    ['syslog+tls://logs.example.com:6514', channel(true), /scheme syslog\+tls: is not allowed; use https:, http:/],
    ['syslog+tls://logs.example.com', drain(), /must name a port/],
    ['syslog+tls:///', drain(), /must name a host/],
    ['syslog+tls:6514', drain(), /must name a host/],
    ['syslog+tls://u:p@logs.example.com:6514', drain(), /carries no credentials/],
    ['syslog+tls://logs.example.com:6514/path', drain(), /no path, query or fragment/],
    ['syslog+tls://logs.example.com:6514?q', drain(), /no path, query or fragment/],
    ['syslog+tls://logs%2eexample.com:6514', drain(), /is not a DNS name or an IP address/],
    // Clear text leaves the machine only to loopback.
    ['syslog://logs.example.com:514', drain(true), /clear text and is allowed only to loopback; use syslog\+tls:/],
    ['syslog://10.0.0.5:514', drain(true), /only to loopback/],
    ['http://hooks.example.com/', channel(true), /only to loopback; use https:/],
    // Link-local and metadata, whoever asks, in every spelling.
    ['https://169.254.169.254/latest/meta-data', drain(true), /link-local address/],
    ['syslog+tls://169.254.169.254:6514', drain(true), /link-local address/],
    ['syslog+tls://0xa9fea9fe:6514', drain(true), /link-local address/],
    ['syslog+tls://169.254.43518:6514', drain(true), /link-local address/],
    ['syslog+tls://2852039166:6514', drain(true), /link-local address/],
    ['https://0251.0376.0251.0376/', channel(true), /link-local address/],
    ['https://[fe80::1]/', channel(true), /link-local address \(fe80::\/10,/],
    ['https://[fd00:ec2::254]/', channel(true), /cloud metadata service/],
    ['https://metadata.google.internal/computeMetadata/v1/', channel(true), /cloud metadata service/],
    ['https://metadata.google.internal./', channel(true), /cloud metadata service/],
    ['https://[::ffff:127.0.0.1]/', channel(true), /IPv4-mapped/],
    ['https://[::ffff:169.254.169.254]/', channel(true), /IPv4-mapped/],
    ['https://[64:ff9b::a9fe:a9fe]/', channel(true), /IPv4 address inside/],
    ['https://0.0.0.0:8443/', channel(true), /unspecified/],
    ['https://[::]:8443/', channel(true), /unspecified/],
    ['https://224.0.0.1/', channel(true), /multicast/],
    // Loopback and private networks: admins only.
    ['syslog://127.0.0.1:5514', drain(), /this machine; only an admin token/],
    ['syslog+tls://0x7f.1:6514', drain(), /this machine/],
    ['https://localhost:8443/', channel(), /this machine/],
    ['https://app.localhost:8443/', channel(), /this machine/],
    ['https://[::1]:8443/', channel(), /this machine/],
    ['https://10.1.2.3/', channel(), /a private network address/],
    ['https://192.168.1.1/', channel(), /a private network address/],
    ['https://[fd12:3456::1]/', channel(), /a private network address/],
    // Pier's own services on loopback, even for an admin.
    ['syslog://127.0.0.1:5432', drain(true), /port 5432 on loopback is one of Pier's own services/],
    ['http://localhost:3000/', channel(true), /port 3000 on loopback/],
    ['https://[::1]:6379/', channel(true), /port 6379 on loopback/],
    ['http://127.0.0.1/', channel(), /this machine/],
  ])('%s', (raw, options, message) => {
    let error: unknown;
    try {
      checkOutboundUrl(raw, options);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('url');
    expect((error as ValidationError).message).toMatch(/^url: /);
    expect((error as ValidationError).message).toMatch(message);
  });

  it('names the field it is given', () => {
    expect(() => checkOutboundUrl('ftp://x', { ...drain(), field: 'webhook.url' })).toThrow(/^webhook\.url: /);
  });
});

describe('hostReach and addressReach', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::1', 'loopback'],
    ['localhost.', 'loopback'],
    ['172.16.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['172.32.0.1', 'public'],
    ['2001:db8::1', 'public'],
    ['169.254.1.1', 'refused'],
    ['fe80::1%eth0', 'refused'],
    ['febf::1', 'refused'],
    ['::ffff:8.8.8.8', 'refused'],
    ['::127.0.0.1', 'refused'],
    ['ff02::1', 'refused'],
  ])('%s is %s', (host, kind) => {
    expect(hostReach(host)?.kind).toBe(kind);
  });

  it('leaves a DNS name to its resolution, and refuses a resolution that is no address', () => {
    expect(hostReach('logs.example.com')).toBeNull();
    expect(hostReach('1.2.3.4.example.com')).toBeNull();
    expect(addressReach('logs.example.com').kind).toBe('refused');
  });
});

describe('outboundLookup', () => {
  const resolvingTo =
    (...addresses: string[]) =>
    (_host: string, _options: unknown, callback: (err: Error | null, a: { address: string; family: number }[]) => void) =>
      callback(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
  const ask = (lookup: ReturnType<typeof outboundLookup>, all: boolean) =>
    new Promise<{ err: Error | null; result: unknown }>((resolve) => {
      lookup('logs.example.com', { all } as never, (err: Error | null, result: unknown) => resolve({ err, result }));
    });

  it.each([
    [['169.254.169.254'], false, /169\.254\.169\.254, a link-local address/],
    [['93.184.216.34', 'fe80::1'], true, /fe80::1, a link-local address/],
    [['127.0.0.1'], false, /only an admin's target/],
    [['10.0.0.2'], false, /only an admin's target/],
    [['::ffff:169.254.169.254'], true, /IPv4-mapped/],
  ])('refuses a name resolving to %j (allowLoopback %s)', async (addresses, allowLoopback, message) => {
    const lookup = outboundLookup({ allowLoopback, port: 6514, reservedPorts: RESERVED, resolve: resolvingTo(...addresses) });
    for (const all of [true, false]) {
      const { err } = await ask(lookup, all);
      expect(err).toBeInstanceOf(OutboundAddressRefused);
      expect(err?.message).toMatch(message);
    }
  });

  it('refuses loopback on a reserved port even when loopback is allowed', async () => {
    const lookup = outboundLookup({
      allowLoopback: true,
      port: 5432,
      reservedPorts: RESERVED,
      resolve: resolvingTo('127.0.0.1'),
    });
    expect((await ask(lookup, false)).err?.message).toMatch(/port 5432 there is one of Pier's own services/);
  });

  it('answers in the form asked for when every address is allowed', async () => {
    const lookup = outboundLookup({
      allowLoopback: false,
      port: 443,
      reservedPorts: RESERVED,
      resolve: resolvingTo('93.184.216.34', '2001:db8::1'),
    });
    expect((await ask(lookup, true)).result).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ]);
    expect((await ask(lookup, false)).result).toBe('93.184.216.34');
  });

  it('stops a real connection to a name that resolves to loopback before it is made', async () => {
    const server = createServer((socket) => socket.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const attempt = (allowLoopback: boolean) =>
      new Promise<string>((resolve) => {
        const socket = netConnect({
          host: 'localhost',
          port,
          family: 4,
          lookup: outboundLookup({ allowLoopback, port, reservedPorts: RESERVED }),
        });
        let data = '';
        socket.on('data', (chunk) => {
          data += chunk;
        });
        socket.on('end', () => resolve(data));
        socket.on('error', (err) => resolve(`error: ${err.message}`));
      });
    try {
      expect(await attempt(false)).toMatch(/^error: localhost resolves to 127\.0\.0\.1, which only an admin's target may reach/);
      expect(await attempt(true)).toBe('reached');
    } finally {
      server.close();
    }
  });
});

describe('pierServicePorts', () => {
  it('keeps the defaults and adds the ports the process knows', () => {
    expect(
      pierServicePorts({ ports: [4100], urls: ['postgres://u:p@127.0.0.1:5433/pier', 'redis://127.0.0.1/1', 'not a url'] }),
    ).toEqual([4000, 4100, 5432, 5433, 6379, 9090]);
  });
});
