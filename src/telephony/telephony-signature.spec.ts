import { hashPhoneNumber, maskPhoneNumber, signedPayload, signTelephonyRequest, verifyTelephonyRequest } from './telephony-signature';

const SECRET = 's'.repeat(40);

describe('telephony signatures', () => {
  const body = Buffer.from('{"id":"evt-1"}');
  const now = new Date('2026-11-25T12:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);

  it('accepts a fresh, correctly signed request', () => {
    expect(() => verifyTelephonyRequest(SECRET, { signature: signTelephonyRequest(SECRET, ts, body), timestamp: String(ts) }, body, now)).not.toThrow();
  });

  it.each([
    ['no signature', { timestamp: String(ts) }, 'INVALID_SIGNATURE'],
    ['another secret', { signature: signTelephonyRequest('x'.repeat(40), ts, body), timestamp: String(ts) }, 'INVALID_SIGNATURE'],
    ['a changed timestamp', { signature: signTelephonyRequest(SECRET, ts, body), timestamp: String(ts + 1) }, 'INVALID_SIGNATURE'],
    ['an old timestamp', { signature: signTelephonyRequest(SECRET, ts - 301, body), timestamp: String(ts - 301) }, 'STALE_REQUEST'],
    ['a future timestamp', { signature: signTelephonyRequest(SECRET, ts + 301, body), timestamp: String(ts + 301) }, 'STALE_REQUEST'],
  ])('refuses %s', (_label, headers, code) => {
    expect(() => verifyTelephonyRequest(SECRET, headers, body, now)).toThrow(expect.objectContaining({ code }));
  });
});

describe('body-less requests', () => {
  it('sign their method and path, so a signature for one call does not open another', () => {
    const ts = Math.floor(Date.now() / 1000);
    const mine = signedPayload('get', '/telephony/calls/a/recording-permission', undefined);
    expect(mine).toBe('GET /telephony/calls/a/recording-permission');
    const signature = signTelephonyRequest(SECRET, ts, mine);
    expect(() => verifyTelephonyRequest(SECRET, { signature, timestamp: String(ts) }, mine, new Date())).not.toThrow();
    const other = signedPayload('GET', '/telephony/calls/b/recording-permission', undefined);
    expect(() => verifyTelephonyRequest(SECRET, { signature, timestamp: String(ts) }, other, new Date())).toThrow(expect.objectContaining({ code: 'INVALID_SIGNATURE' }));
  });
});

describe('caller numbers', () => {
  it('masks all but the country code and the last four digits', () => {
    expect(maskPhoneNumber('+31 6 1234 5678')).toBe('+31*****5678');
    expect(maskPhoneNumber('0031612345678')).toBe('+31*****5678');
    expect(maskPhoneNumber('020-1234567')).toBe('02****4567');
  });

  it('hashes the same number written differently to the same key', () => {
    expect(hashPhoneNumber(SECRET, '+31 6 1234 5678')).toBe(hashPhoneNumber(SECRET, '0031-612345678'));
    expect(hashPhoneNumber(SECRET, '+31612345678')).not.toBe(hashPhoneNumber(SECRET, '+31612345679'));
  });
});
