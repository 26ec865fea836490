import { Injectable, type CanActivate, type ExecutionContext, type RawBodyRequest } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { CONTENT_SHA256_HEADER, SIGNATURE_HEADER, signedPayload, STREAMED_BODY, TIMESTAMP_HEADER, verifyTelephonyRequest } from './telephony-signature';

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
    private readonly reflector: Reflector,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const secret = this.config.telephony.webhookSecret;
    if (!secret) throw new DomainException('TELEPHONY_DISABLED', 'The telephony webhook is not configured (TELEPHONY_WEBHOOK_SECRET)');
    const req = ctx.switchToHttp().getRequest<RawBodyRequest<Request>>();
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : undefined;
    };
    // Streamed uploads (recordings, transcripts) are signed over the path and the declared SHA-256
    // of their body, which the upload then checks against what it stored.
    const streamed = this.reflector.getAllAndOverride<boolean>(STREAMED_BODY, [ctx.getHandler(), ctx.getClass()]);
    let payload: Buffer | string | undefined;
    if (req.method === 'GET') payload = signedPayload(req.method, req.originalUrl, undefined);
    else if (streamed) {
      const sha = header(CONTENT_SHA256_HEADER);
      if (!sha || !/^[0-9a-f]{64}$/.test(sha)) throw new DomainException('INVALID_SIGNATURE', `A streamed upload names its body's SHA-256 in ${CONTENT_SHA256_HEADER}`);
      payload = `${req.method.toUpperCase()} ${req.originalUrl} ${sha}`;
    } else payload = req.rawBody;
    verifyTelephonyRequest(secret, { signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER) }, payload, this.clock.now());
    return true;
  }
}
