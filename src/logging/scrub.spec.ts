import { censorKeys, scrubText } from './scrub';

describe('scrubText', () => {
  it.each([
    ['jan.jansen+support@example.nl', '[email]'],
    ['+31 6 1234 5678', '[phone]'],
    ['+31612345678', '[phone]'],
    ['0031 20 123 4567', '[phone]'],
    ['06-12345678', '[phone]'],
    ['020 123 4567', '[phone]'],
    ['192.168.10.23', '[ip]'],
    ['2001:db8:85a3::8a2e:370:7334', '[ip]'],
    ['::1', '[ip]'],
    ['fe80:0:0:0:202:b3ff:fe1e:8329', '[ip]'],
    ['Bearer abcdefghijklmnop', 'Bearer [token]'],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', '[token]'],
    ['sdu_J24pS3xN9yfKyNJeMVgs5NHZsolc2Uj_fOTvsJxL6JQ', '[token]'],
  ])('masks %s', (value, masked) => {
    expect(scrubText(`{"msg":"value ${value} here"}`)).toBe(`{"msg":"value ${masked} here"}`);
  });

  it.each([
    '{"time":"2026-11-25T10:00:00.000Z","pid":4123,"responseTime":12}',
    '{"reqId":"0f8fa8e2-0612-4345-8678-123456789012"}',
    '{"msg":"migrations applied: 3","count":1200000}',
    '{"version":"3.1175.0","port":54329}',
  ])('leaves ordinary values alone: %s', (line) => {
    expect(scrubText(line)).toBe(line);
  });
});

describe('censorKeys', () => {
  it('censors personal fields at any depth and keeps the rest', () => {
    const input = { a: { b: [{ email: 'x', phone_number: 'y', id: 7 }] }, body: { text: 'z' }, status: 'ok' };
    expect(censorKeys(input)).toEqual({
      a: { b: [{ email: '[redacted]', phone_number: '[redacted]', id: 7 }] },
      body: '[redacted]',
      status: 'ok',
    });
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { id: 1 };
    a.self = a;
    expect(censorKeys(a)).toEqual({ id: 1, self: '[…]' });
  });
});
