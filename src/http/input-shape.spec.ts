import { assertInputShape, jsonTextDepth, MAX_INPUT_DEPTH } from './input-shape';

describe('assertInputShape', () => {
  const nested = (depth: number): unknown => (depth === 0 ? 'x' : { a: nested(depth - 1) });

  it('passes a chat message and other flat payloads', () => {
    expect(() => assertInputShape([{ conversationId: 'c', clientMessageId: 'm', body: 'Goedemiddag' }], 1024)).not.toThrow();
    expect(() => assertInputShape([undefined], 1024)).not.toThrow();
  });

  it('refuses a flat payload over the size, and a large string inside a nested one', () => {
    expect(() => assertInputShape([{ body: 'x'.repeat(2000) }], 1024)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() => assertInputShape([{ a: { b: ['x'.repeat(2000)] } }], 1024)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });

  it('refuses nesting past the limit without overflowing the stack itself', () => {
    expect(() => assertInputShape([nested(MAX_INPUT_DEPTH - 2)], 1 << 20)).not.toThrow();
    expect(() => assertInputShape([nested(MAX_INPUT_DEPTH)], 1 << 20)).toThrow(expect.objectContaining({ code: 'NESTING_TOO_DEEP' }));
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => assertInputShape([deep], 1 << 30)).toThrow(expect.objectContaining({ code: 'NESTING_TOO_DEEP' }));
  });

  it('reads the depth of a JSON text without parsing it, strings aside', () => {
    expect(jsonTextDepth(Buffer.from('{"a":[1,{"b":"[[[{{{"}]}'))).toBe(3);
    expect(jsonTextDepth(Buffer.from('"\\"[[["'))).toBe(0);
  });
});
