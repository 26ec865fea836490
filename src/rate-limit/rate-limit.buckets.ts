import type { AppConfig } from '../config/app-config';

/**
 * The limits one client can use up (issue: one abusive client cannot hurt
 * others). Each is a sliding window of `limit` hits per `ttlMs`, counted per
 * tracker: a principal, a client address, or the phone system's address.
 */
export type Bucket = 'principal' | 'anonymous' | 'webhook' | 'chat_send';

export interface BucketLimit {
  limit: number;
  ttlMs: number;
}

export function bucketLimits(config: AppConfig): Record<Bucket, BucketLimit> {
  const minute = 60_000;
  const { chat, limits } = config;
  return {
    principal: { limit: limits.perPrincipalPerMinute, ttlMs: minute },
    anonymous: { limit: limits.anonymousPerMinute, ttlMs: minute },
    webhook: { limit: limits.webhookPerMinute, ttlMs: minute },
    // A burst of `rateBurst` sends, refilled at `ratePerSecond`: at most `burst` in any burst/rate seconds.
    chat_send: { limit: chat.rateBurst, ttlMs: Math.max(1, Math.round((chat.rateBurst / chat.ratePerSecond) * 1000)) },
  };
}
