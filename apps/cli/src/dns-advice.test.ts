import { describe, expect, it } from 'vitest';
import { dnsCheckText, dnsRecords } from './dns-advice.ts';

describe('dnsRecords', () => {
  it('points the name at the generated hostname, and at the known addresses', () => {
    expect(dnsRecords('www.example.com', 'shop.pier.example.net', ['203.0.113.7', '2001:db8::7'])).toEqual([
      { type: 'CNAME', name: 'www.example.com', value: 'shop.pier.example.net' },
      { type: 'A', name: 'www.example.com', value: '203.0.113.7' },
      { type: 'AAAA', name: 'www.example.com', value: '2001:db8::7' },
    ]);
    expect(dnsRecords('www.example.com', 'shop.pier.example.net', [])).toHaveLength(1);
  });
});

describe('dnsCheckText', () => {
  it.each([
    [{ addresses: ['203.0.113.7'], pointsHere: true }, true, 'www.example.com points here (203.0.113.7)'],
    [
      { addresses: [], pointsHere: null, error: 'ENOTFOUND' },
      false,
      'www.example.com does not resolve yet (ENOTFOUND): create the record above',
    ],
    [
      { addresses: ['198.51.100.1'], pointsHere: false },
      false,
      'www.example.com does not point here yet: it resolves to 198.51.100.1',
    ],
    [undefined, false, 'www.example.com was not checked'],
  ])('%j', (status, pointsHere, text) => {
    expect(dnsCheckText('www.example.com', status)).toEqual({ pointsHere, text });
  });
});
