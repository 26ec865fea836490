import { OrderedRelease } from './ordered-release';

type M = { conversationId: string; seq: number };
const msgs = (c: string, from: number, to: number): M[] => Array.from({ length: to - from + 1 }, (_, i) => ({ conversationId: c, seq: from + i }));

describe('OrderedRelease', () => {
  let released: M[][];
  let order: OrderedRelease<M>;
  beforeEach(() => {
    released = [];
    order = new OrderedRelease<M>((items) => released.push(items));
  });

  it('releases a lone batch at once', () => {
    order.start(['a']).finish(msgs('a', 1, 3));
    expect(released).toEqual([msgs('a', 1, 3)]);
  });

  it('holds a batch read back before an earlier one on the same conversation, then releases both in order', () => {
    const first = order.start(['a']);
    const second = order.start(['a']);
    second.finish(msgs('a', 4, 6)); // its reply was read first
    expect(released).toEqual([]);
    first.finish(msgs('a', 1, 3));
    expect(released).toEqual([[...msgs('a', 1, 3), ...msgs('a', 4, 6)]]);
  });

  it('does not hold other conversations', () => {
    const first = order.start(['a']);
    order.start(['b']).finish(msgs('b', 1, 2));
    expect(released).toEqual([msgs('b', 1, 2)]);
    first.finish(msgs('a', 1, 1));
    expect(released[1]).toEqual(msgs('a', 1, 1));
  });

  it('waits only for the batches running when it finished, so a steady stream cannot starve it', () => {
    const b1 = order.start(['a']);
    const b2 = order.start(['a']);
    b2.finish(msgs('a', 11, 20)); // waits for b1
    const b3 = order.start(['a']);
    b1.finish(msgs('a', 1, 10)); // waits for b3 (running when it finished); b2 behind it
    expect(released).toEqual([]);
    const b4 = order.start(['a']);
    b3.finish(msgs('a', 21, 30)); // b1 and b2 go; b3 waits for b4
    expect(released).toEqual([[...msgs('a', 1, 10), ...msgs('a', 11, 20)]]);
    b4.finish(msgs('a', 31, 40));
    expect(released[1]).toEqual([...msgs('a', 21, 30), ...msgs('a', 31, 40)]);
  });

  it('lets a failed batch (nothing written) stop holding others', () => {
    const failing = order.start(['a']);
    order.start(['a']).finish(msgs('a', 1, 2));
    expect(released).toEqual([]);
    failing.finish([]);
    expect(released).toEqual([msgs('a', 1, 2)]);
  });
});
