import { Injectable, type CanActivate, type ExecutionContext, type RawBodyRequest } from '@nestjs/common';
import type { Request } from 'express';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { SIGNATURE_HEADER, signedPayload, TIMESTAMP_HEADER, verifyTelephonyRequest } from './telephony-signature';

/**
 * The phone system's requests are authenticated by their signature, checked
 * before anything else looks at the body (guards run before validation), so an
 * unsigned caller learns nothing about what the webhook accepts.
 */
@Injectable()
export class TelephonySignatureGuard implements CanActivate {
  constructor(
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const secret = this.config.telephony.webhookSecret;
    if (!secret) throw new DomainException('TELEPHONY_DISABLED', 'The telephony webhook is not configured (TELEPHONY_WEBHOOK_SECRET)');
    const req = ctx.switchToHttp().getRequest<RawBodyRequest<Request>>();
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    const payload = req.method === 'GET' ? signedPayload(req.method, req.originalUrl, undefined) : req.rawBody;
    verifyTelephonyRequest(secret, { signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER) }, payload, this.clock.now());
    return true;
  }
}
