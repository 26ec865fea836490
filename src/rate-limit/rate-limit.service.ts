import { Inject, Injectable } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { RetryLaterException } from '../errors/domain.exception';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { RedisThrottlerStorage } from './redis-throttler.storage';
import { bucketLimits, type Bucket, type BucketLimit } from './rate-limit.buckets';

export const RATE_LIMIT_MESSAGES: Record<Bucket, string> = {
  principal: 'Too many requests; wait a moment and try again',
  anonymous: 'Too many requests from this address; wait a moment and try again',
  webhook: 'Too many requests from the phone system; wait a moment and try again',
  chat_send: 'Too many messages at once; wait a moment and resend with the same clientMessageId',
};

/**
 * Takes one hit from a bucket for a tracker, or refuses with RATE_LIMITED and
 * the seconds to wait. The REST guard, socket events and chat sends (socket
 * and REST alike) all count here, in the one store the module configured.
 */
@Injectable()
export class RateLimitService {
  readonly limits: Record<Bucket, BucketLimit>;

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: ThrottlerStorage,
    config: AppConfig,
  ) {
    this.limits = bucketLimits(config);
  }

  /** Answers at once (no promise) from memory: a chat send pays for nothing more than a map lookup. */
  take(bucket: Bucket, tracker: string): Promise<void> | void {
    const { limit, ttlMs } = this.limits[bucket];
    const key = rateLimitKey(this.storage, bucket, tracker);
    if (this.storage instanceof MemoryThrottlerStorage) return refuseIfBlocked(bucket, this.storage.hit(key, ttlMs, limit));
    return this.storage.increment(key, ttlMs, limit, 0, bucket).then((record) => refuseIfBlocked(bucket, record));
  }
}

function refuseIfBlocked(bucket: Bucket, record: ThrottlerStorageRecord): void {
  if (record.isBlocked) throw new RetryLaterException('RATE_LIMITED', RATE_LIMIT_MESSAGES[bucket], record.timeToBlockExpire);
}

/** The key of a tracker's counter: as it is in memory; keyed-hashed for Redis, which never holds a subject or an address (R5.1). */
export function rateLimitKey(storage: ThrottlerStorage, bucket: Bucket, tracker: string): string {
  if (storage instanceof RedisThrottlerStorage) return storage.keyOf(bucket, tracker);
  return `${bucket}:${tracker}`;
}

