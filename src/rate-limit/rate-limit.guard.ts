import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerLimitDetail } from '@nestjs/throttler/dist/throttler.guard.interface';
import { RetryLaterException } from '../errors/domain.exception';
import type { AuthenticatedRequest } from '../identity/principal-of';
import { addressTracker } from './client-address';
import { RATE_LIMIT_AS } from './rate-limit.decorators';
import { RATE_LIMIT_MESSAGES, rateLimitKey } from './rate-limit.service';
import type { Bucket } from './rate-limit.buckets';

/**
 * Every REST route counts against one bucket (runs after AuthGuard): the
 * signed-in principal's, the client address's on routes without a token, or
 * the phone system's. One budget per caller across all routes, so spreading
 * requests over routes does not multiply it.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(@InjectThrottlerOptions() options: ThrottlerModuleOptions, @InjectThrottlerStorage() storage: ThrottlerStorage, reflector: Reflector) {
    super(options, storage, reflector);
  }

  /** Sockets count per event in SocketAuthAdapter; health checks are not counted. */
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http' || markedAs(context, this.reflector) === 'none');
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = (req as AuthenticatedRequest).principal;
    return Promise.resolve(principal ? `${principal.kind}:${principal.subject}` : addressTracker(typeof req.ip === 'string' ? req.ip : undefined));
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return rateLimitKey(this.storageService, name as Bucket, tracker);
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const bucket = detail.key.split(':')[0] as Bucket;
    return Promise.reject(new RetryLaterException('RATE_LIMITED', RATE_LIMIT_MESSAGES[bucket] ?? RATE_LIMIT_MESSAGES.principal, detail.timeToBlockExpire));
  }
}

function markedAs(context: ExecutionContext, reflector: Reflector): 'webhook' | 'none' | undefined {
  return reflector.getAllAndOverride<'webhook' | 'none' | undefined>(RATE_LIMIT_AS, [context.getHandler(), context.getClass()]);
}

/** Which of the guard's throttlers applies to a request. */
export function appliesTo(bucket: Bucket, context: ExecutionContext, reflector: Reflector): boolean {
  const marked = markedAs(context, reflector);
  if (bucket === 'webhook') return marked === 'webhook';
  if (marked) return false;
  const signedIn = context.getType() === 'http' && context.switchToHttp().getRequest<AuthenticatedRequest>().principal !== undefined;
  return bucket === 'principal' ? signedIn : !signedIn;
}
