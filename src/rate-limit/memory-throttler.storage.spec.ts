import { MemoryThrottlerStorage } from './memory-throttler.storage';

describe('MemoryThrottlerStorage', () => {
  let now = 0;
  const storage = new MemoryThrottlerStorage(() => now);
  afterAll(() => storage.onApplicationShutdown());

  it('lets `limit` hits through in a window, then refuses with the wait until the window ends', () => {
    now = 1_000;
    const results = Array.from({ length: 7 }, () => storage.hit('burst', 5_000, 5));
    expect(results.map((r) => r.isBlocked)).toEqual([false, false, false, false, false, true, true]);
    expect(results[5].timeToBlockExpire).toBe(5);
    now += 2_000;
    expect(storage.hit('burst', 5_000, 5)).toMatchObject({ isBlocked: true, timeToBlockExpire: 3 });
  });

  it('slides: the last window counts for as much of it as still overlaps', () => {
    now = 100_000;
    for (let i = 0; i < 10; i++) expect(storage.hit('slide', 10_000, 10).isBlocked).toBe(false);
    // Halfway into the next window half of the ten still count: five more fit, not ten.
    now = 115_000;
    const after = Array.from({ length: 6 }, () => storage.hit('slide', 10_000, 10).isBlocked);
    expect(after).toEqual([false, false, false, false, false, true]);
  });

  it('forgets everything after two quiet windows, and keeps keys apart', () => {
    now = 200_000;
    for (let i = 0; i < 3; i++) storage.hit('quiet', 1_000, 3);
    expect(storage.hit('quiet', 1_000, 3).isBlocked).toBe(true);
    expect(storage.hit('other', 1_000, 3).isBlocked).toBe(false);
    now = 202_500;
    expect(storage.hit('quiet', 1_000, 3)).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('forgets a client two windows after its last hit', () => {
    let t = 400_000;
    const own = new MemoryThrottlerStorage(() => t);
    own.hit('once', 1_000, 3);
    own.hit('longer', 60_000, 3);
    t = 401_500;
    own.sweep();
    expect(own.size).toBe(2);
    t = 402_000;
    own.sweep();
    expect(own.size).toBe(1);
    own.onApplicationShutdown();
  });

  it('holds a sustained rate near the limit, never above it', () => {
    now = 300_000;
    let passed = 0;
    for (let t = 0; t < 60_000; t += 10) {
      now = 300_000 + t;
      if (!storage.hit('steady', 1_000, 10).isBlocked) passed++;
    }
    // At most 10 per second for 60 s (the estimate errs on the side of refusing), and not far below it.
    expect(passed).toBeGreaterThanOrEqual(520);
    expect(passed).toBeLessThanOrEqual(610);
  });
});
