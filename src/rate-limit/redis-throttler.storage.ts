import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { Redis } from 'ioredis';
import { createHmac } from 'node:crypto';

/** One round trip: count the hit in a fixed window, start the window's clock on its first hit. */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { hits, ttl }`;

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
      const redis = this.redis as unknown as { rateLimitIncrement: (key: string, ttl: number) => Promise<[number, number]> };
      const [hits, ttlMs] = await redis.rateLimitIncrement(`rl:${key}`, ttl);
      const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
      const isBlocked = hits > limit;
      return { totalHits: hits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
    } catch (err) {
      this.warn(err);
      return { totalHits: 0, timeToExpire: Math.ceil(ttl / 1000), isBlocked: false, timeToBlockExpire: 0 };
    }
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
