import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(): Promise<boolean> {
  const { hostname, port } = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname, () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The shared store counts like the memory one (a sliding estimate), on Redis's clock. */
describe('RedisThrottlerStorage', () => {
  let storage: RedisThrottlerStorage | undefined;

  beforeAll(async () => {
    if (await reachable()) {
      storage = new RedisThrottlerStorage(REDIS_URL, 'a-secret-for-the-test');
      await storage.ready();
    }
    // CI machines run Redis: there, its absence is a failure, not a skip.
    else if (process.env.CI) throw new Error(`Redis is not reachable at ${REDIS_URL}`);
    else process.stderr.write(`Redis is not reachable at ${REDIS_URL}: RedisThrottlerStorage was not tested\n`);
  });
  afterAll(() => storage?.onApplicationShutdown());

  it('lets `limit` hits through, then refuses with the wait, and counts keys apart', async () => {
    if (!storage) return;
    const key = storage.keyOf('principal', `agent:${randomUUID()}`);
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await storage.increment(key, 60_000, 5));
    expect(results.map((r) => r.isBlocked)).toEqual([false, false, false, false, false, true, true]);
    expect(results[5].timeToBlockExpire).toBeGreaterThan(55);
    expect(results[5].timeToBlockExpire).toBeLessThanOrEqual(60);
    expect((await storage.increment(storage.keyOf('principal', `agent:${randomUUID()}`), 60_000, 5)).isBlocked).toBe(false);
  });

  it('frees the budget as the window slides', async () => {
    if (!storage) return;
    const key = storage.keyOf('chat_send', randomUUID());
    for (let i = 0; i < 3; i++) expect((await storage.increment(key, 300, 3)).isBlocked).toBe(false);
    expect((await storage.increment(key, 300, 3)).isBlocked).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 650));
    expect((await storage.increment(key, 300, 3)).isBlocked).toBe(false);
  });

  it('keys by a keyed hash: no address or subject in Redis, and another secret gives other keys', () => {
    if (!storage) return;
    const key = storage.keyOf('anonymous', 'address:198.51.100.7');
    expect(key).toMatch(/^anonymous:[A-Za-z0-9_-]{32}$/);
    expect(key).not.toContain('198.51.100.7');
    const other = new RedisThrottlerStorage(REDIS_URL, 'another-secret');
    expect(other.keyOf('anonymous', 'address:198.51.100.7')).not.toBe(key);
    void other.onApplicationShutdown();
  });

  it('lets requests pass, at once, while Redis cannot be reached', async () => {
    const down = new RedisThrottlerStorage('redis://127.0.0.1:1', 'x');
    try {
      const started = Date.now();
      const record = await down.increment('principal:someone', 60_000, 1);
      expect(record.isBlocked).toBe(false);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await down.onApplicationShutdown();
    }
  });
});
