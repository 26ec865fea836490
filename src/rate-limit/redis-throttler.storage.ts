import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { Redis } from 'ioredis';
import { createHmac } from 'node:crypto';

/**
 * One round trip, the same sliding-window estimate as MemoryThrottlerStorage
 * (the last window's count weighted by its overlap, plus this window's), on
 * Redis's clock so every instance agrees. A refused hit is not counted.
 * Answers { hits, ms to the window's end, blocked (0/1), ms until a hit fits }.
 */
const INCREMENT = `
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = redis.call('HMGET', KEYS[1], 'start', 'current', 'previous')
local start = tonumber(w[1]) or now
local current = tonumber(w[2]) or 0
local previous = tonumber(w[3]) or 0
if now - start >= ttl then
  local passed = math.floor((now - start) / ttl)
  if passed == 1 then previous = current else previous = 0 end
  current = 0
  start = start + passed * ttl
end
local elapsed = now - start
local carried = previous * (1 - elapsed / ttl)
local blocked = 0
local wait = 0
if carried + current + 1 > limit then
  blocked = 1
  if current + 1 > limit or previous == 0 then wait = ttl - elapsed else wait = ttl * (1 - (limit - current - 1) / previous) - elapsed end
else
  current = current + 1
end
redis.call('HSET', KEYS[1], 'start', start, 'current', current, 'previous', previous)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return { current + math.ceil(carried) + blocked, ttl - elapsed, blocked, math.ceil(wait) }`;

/**
 * Counters in Redis, so every instance counts the same client together
 * (RATE_LIMIT_STORE=redis). When Redis does not answer, requests pass: a
 * limiter that is down must not take the service down with it.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis;
  private lastWarning = 0;

  /** `keySecret`: keys are an HMAC of the client, so a dump of Redis does not give addresses back. */
  constructor(
    url: string,
    private readonly keySecret: string,
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      connectionName: 'support-desk-rate-limit',
    });
    this.redis.defineCommand('rateLimitIncrement', { numberOfKeys: 1, lua: INCREMENT });
    // ioredis prints unhandled errors itself; ours go through the logger, without the URL.
    this.redis.on('error', (err: Error) => this.warn(err));
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    try {
      const redis = this.redis as unknown as { rateLimitIncrement: (key: string, ttl: number, limit: number) => Promise<[number, number, number, number]> };
      const [hits, toExpireMs, blocked, waitMs] = await redis.rateLimitIncrement(`rl:${key}`, ttl, limit);
      const isBlocked = blocked === 1;
      return { totalHits: hits, timeToExpire: Math.max(1, Math.ceil(toExpireMs / 1000)), isBlocked, timeToBlockExpire: isBlocked ? Math.max(1, Math.ceil(waitMs / 1000)) : 0 };
    } catch (err) {
      this.warn(err);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  /** Connected (until then hits pass: commands are not queued, so an outage never holds a request up). */
  ready(): Promise<void> {
    return this.redis.status === 'ready' ? Promise.resolve() : new Promise((resolve) => this.redis.once('ready', () => resolve()));
  }

  keyOf(bucket: string, tracker: string): string {
    return `${bucket}:${createHmac('sha256', this.keySecret).update(tracker).digest('base64url').slice(0, 32)}`;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.lastWarning = now;
    const code = (err as { code?: unknown }).code;
    this.logger.warn(`rate-limit store unreachable, requests pass unlimited (${typeof code === 'string' ? code : err instanceof Error ? err.name : 'error'})`);
  }
}
