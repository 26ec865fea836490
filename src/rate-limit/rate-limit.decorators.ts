import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT_AS = 'rate-limit:as';

/**
 * Counts a controller's routes in another bucket than the caller's own:
 * `webhook` for the phone system's signed routes (by address, a higher
 * limit), `none` for health checks a load balancer polls.
 */
export const RateLimitAs = (bucket: 'webhook' | 'none') => SetMetadata(RATE_LIMIT_AS, bucket);
