import { Global, Module } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { bucketLimits } from './rate-limit.buckets';
import { appliesTo } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { MemoryThrottlerStorage } from './memory-throttler.storage';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const GUARDED = ['principal', 'anonymous', 'webhook'] as const;

/**
 * Rate limits per principal, per client address and for the phone system,
 * in this instance's memory or in Redis for several instances.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const limits = bucketLimits(config);
        const reflector = new Reflector();
        return {
          storage: config.limits.store === 'redis'
              ? new RedisThrottlerStorage(config.limits.redisUrl!, config.auth.hs256Secret ?? config.auth.oidc?.issuer ?? 'support-desk')
              : new MemoryThrottlerStorage(),
          throttlers: GUARDED.map((name) => ({
            name,
            limit: limits[name].limit,
            ttl: limits[name].ttlMs,
            // A sliding window: a refused request does not extend the wait.
            blockDuration: 0,
            skipIf: (context) => !appliesTo(name, context, reflector),
          })),
          setHeaders: true,
        };
      },
    }),
  ],
  // Its guard is registered by IdentityModule, between who is calling and what they may do.
  providers: [RateLimitService],
  exports: [RateLimitService],
})
export class RateLimitModule {}
