import type { IncomingMessage } from 'node:http';
import { addressTracker, requestAddress } from './client-address';

describe('addressTracker', () => {
  it('counts an IPv6 client by its /64, and an IPv4-mapped address as IPv4', () => {
    expect(addressTracker('2001:db8:1:2::1')).toBe(addressTracker('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressTracker('2001:db8:1:2::1')).not.toBe(addressTracker('2001:db8:1:3::1'));
    expect(addressTracker('::ffff:198.51.100.7')).toBe(addressTracker('198.51.100.7'));
    expect(addressTracker('::ffff:c633:6407')).toBe(addressTracker('198.51.100.7'));
    expect(addressTracker(undefined)).toBe('address:unknown');
  });
});

describe('requestAddress', () => {
  const request = (peer: string, forwarded?: string) =>
    ({ socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

  it('is the peer without trusted proxies, whatever X-Forwarded-For claims', () => {
    expect(requestAddress(request('203.0.113.9', '198.51.100.1'), 0)).toBe('203.0.113.9');
  });

  it('takes the entry the first untrusted hop wrote, as Express does', () => {
    expect(requestAddress(request('10.0.0.2', '198.51.100.1'), 1)).toBe('198.51.100.1');
    // A client that forges a first entry does not get to choose: one trusted hop means the last entry.
    expect(requestAddress(request('10.0.0.2', '192.0.2.66, 198.51.100.1'), 1)).toBe('198.51.100.1');
    expect(requestAddress(request('10.0.0.2', '198.51.100.1, 10.0.0.1'), 2)).toBe('198.51.100.1');
    expect(requestAddress(request('10.0.0.2'), 1)).toBe('10.0.0.2');
    expect(requestAddress(request('10.0.0.2', 'not-an-address'), 1)).toBe('10.0.0.2');
  });
});
