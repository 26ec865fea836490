import { randomUUID } from 'node:crypto';
import { censorKeys, scrubText, scrubValue } from './scrub';

describe('scrubText', () => {
  it.each([
    ['jan.jansen+support@example.nl', '[email]'],
    ['info@müller.nl', '[email]'],
    ['jöhn.doe@bäckerei.de', '[email]'],
    ['+1 (415) 555-2671', '[phone]'],
    ['06–12345678', '[phone]'],
    ['020—123 4567', '[phone]'],
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
    // Dutch phone numbers in every notation
    ['+31 (0)6-1234 5678', '[phone]'],
    ['+31(0)20 123 4567', '[phone]'],
    ['0031612345678', '[phone]'],
    ['+31-6-12345678', '[phone]'],
    ['06 12 34 56 78', '[phone]'],
    ['06 1234 5678', '[phone]'],
    ['0612345678', '[phone]'],
    ['06.12.34.56.78', '[phone]'],
    ['06 - 12345678', '[phone]'],
    ['(020) 123 45 67', '[phone]'],
    ['(020)1234567', '[phone]'],
    ['(0)6 12345678', '[phone]'],
    ['020-1234567', '[phone]'],
    ['020/1234567', '[phone]'],
    ['+31 20 123 4567', '[phone]'],
    ['088 123 4567', '[phone]'],
    ['0800-0222333', '[phone]'],
    ['+32 470 12 34 56', '[phone]'],
    // IBANs: Dutch and foreign, grouped or not, any case
    ['NL91 ABNA 0417 1643 00', '[iban]'],
    ['NL91ABNA0417164300', '[iban]'],
    ['nl91abna0417164300', '[iban]'],
    ['DE89 3704 0044 0532 0130 00', '[iban]'],
    ['DE89370400440532013000', '[iban]'],
    ['BE68539007547034', '[iban]'],
    ['GB82 WEST 1234 5698 7654 32', '[iban]'],
    // BSN: the 11-test, grouped forms, or named as one
    ['123456782', '[bsn]'],
    ['1112.22.333', '[bsn]'],
    ['111 222 333', '[bsn]'],
    ['bsn: 987654321', '[bsn]'],
    ['BSN 12345678', '[bsn]'],
    // postcode, with a house number when one follows
    ['1234 AB 12', '[postcode]'],
    ['1234AB', '[postcode]'],
    ['1234 ab', '[postcode]'],
    ['3511LX42', '[postcode]'],
    ['9712 CP 7-2', '[postcode]'],
    ['1234 AB 12a', '[postcode]'],
    // KvK
    ['69599084', '[kvk]'],
    ['KvK 69599084', 'KvK [kvk]'],
  ])('masks %s', (value, masked) => {
    expect(scrubText(`{"msg":"value ${value} here"}`)).toBe(`{"msg":"value ${masked} here"}`);
  });

  it('masks an IBAN at the end of a sentence and one after another code', () => {
    expect(scrubValue('naar NL91ABNA0417164300.')).toBe('naar [iban].');
    expect(scrubValue('ref ab12 NL91 ABNA 0417 1643 00 is mijn rekening')).toBe('ref ab12 [iban] is mijn rekening');
  });

  it.each([
    ['percent-encoded e-mail in a path', '/klanten/j.devries%2Bfactuur%40bakkerij-devries.nl/x', '[email]'],
    ['twice-encoded e-mail', 'who=jan%2540example.nl', '[email]'],
    ['percent-encoded phone', 'tel=%2B31%206%201234%205678', '[phone]'],
    ['form-encoded phone', 'tel=06+12+34+56+78', '[phone]'],
    ['form-encoded IBAN', 'iban=NL91+ABNA+0417+1643+00', '[iban]'],
    ['mixed spacing', '06 \t12  34\u00a056 78', '[phone]'],
    ['zero-width characters', '06\u200b12345678', '[phone]'],
    ['encoded postcode', '1234%20AB%2012', '[postcode]'],
  ])('decodes before matching: %s', (_label, value, mask) => {
    const out = scrubValue(value);
    expect(out).toContain(mask);
    expect(out).not.toMatch(/%40|%2B|%20|devries|1234 5678|12345678|0417/);
  });

  it('leaves random UUIDs alone (their groups are not an IBAN)', () => {
    for (let i = 0; i < 5000; i++) {
      const id = randomUUID();
      expect(scrubValue(id)).toBe(id);
    }
  });

  it('scans JSON string values with their escapes decoded', () => {
    expect(scrubText('{"msg":"tel 06\\t12\\t34\\t56\\t78"}')).toBe('{"msg":"tel [phone]"}');
    expect(scrubText('{"msg":"mail jan\\u0040example.nl"}')).toBe('{"msg":"mail [email]"}');
    // A masked value that decoded to a quote stays valid JSON.
    expect(JSON.parse(scrubText('{"msg":"a%22b 06%2012345678"}'))).toEqual({ msg: 'a"b [phone]' });
  });

  it.each([
    ['invalid input syntax for type uuid: "jan de vries"', 'invalid input syntax for type uuid: "[value]"'],
    ['invalid input value for enum purpose: "Geertruida"', 'invalid input value for enum purpose: "[value]"'],
    ['value "Oldenbarnevelt" is out of range for type integer', 'value "[value]" is out of range for type integer'],
    ['Key (subject)=(Geertruida Oldenbarnevelt) already exists.', 'Key (subject)=([value]) already exists.'],
    ['Failing row contains (1, Geertruida, null).', 'Failing row contains ([row]).'],
  ])("reduces PostgreSQL's quoted input: %s", (message, reduced) => {
    expect(scrubValue(message)).toBe(reduced);
  });

  it('scans text that is not JSON whole', () => {
    expect(scrubText('Start-up failed: BSN 123456782 at 1234 AB 12')).toBe('Start-up failed: [bsn] at [postcode]');
  });

  it.each([
    '{"time":"2026-11-25T10:00:00.000Z","pid":4123,"responseTime":12}',
    '{"reqId":"0f8fa8e2-0612-4345-8678-123456789012"}',
    '{"msg":"migrations applied: 3","count":1200000}',
    '{"version":"3.1175.0","port":54329}',
    '{"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}',
    '{"sha256":"1234ab56c8d9e0f112233445566778899aabbccddeeff00112233445566778"}',
    '{"id":"1234ab56-0612-4345-8678-123456789012"}',
    '{"reqId":"fd93e4c1-1234-4abc-8912-0123456789ab","other":"ab12cd34-ef56-4a78-9b01-23456789abcd"}',
    '{"bytes":123456789,"size":12345678,"seq":123456782}',
    '{"msg":"stored 12345678 bytes in 1500 ms","took":"2048 ms","mem":"1024 MB"}',
    '{"msg":"upload of 123456789 bytes","at":"2026-11-25T10:00:00.123456789Z"}',
    '{"msg":"report 20261125 written","file":"purge-20261125.json"}',
    '{"msg":"batch 1200 of 3400 done in 2026 ms"}',
    '{"msg":"listening on http://localhost:3000","url":"/conversations/:id/messages?after=100"}',
    '{"msg":"Mapped {/conversations/:id, GET} route","context":"RouterExplorer"}',
    '{"msg":"purge run: 100000 items max, 3 kept","code":"23505","routine":"_bt_check_unique"}',
    '{"stack":"Error: x\\n    at f (/app/dist/main.js:12:34)\\n    at node:internal/process/task_queues:95:5"}',
    '{"msg":"60% done, 1+1 retries"}',
    '{"ts":"01-02-2026 10:00:00"}',
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
