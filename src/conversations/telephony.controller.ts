import { Body, Controller, Headers, HttpCode, Post, Req, type RawBodyRequest } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { Public } from '../identity/auth.decorators';
import { TelephonyEventDto } from './dto/telephony-event.dto';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyTelephonyRequest } from './telephony-signature';
import { TelephonyService } from './telephony.service';

/** The phone system's webhook: authenticated by its HMAC signature, not by a bearer token. */
@ApiTags('telephony')
@Controller('telephony')
export class TelephonyController {
  constructor(
    private readonly telephony: TelephonyService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  @Public()
  @Post('events')
  @HttpCode(200)
  @ApiHeader({ name: TIMESTAMP_HEADER, description: 'Unix seconds; refused when more than 5 minutes off' })
  @ApiHeader({ name: SIGNATURE_HEADER, description: 'v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">' })
  async receive(
    @Req() req: RawBodyRequest<Request>,
    @Headers(SIGNATURE_HEADER) signature: string | undefined,
    @Headers(TIMESTAMP_HEADER) timestamp: string | undefined,
    @Body() event: TelephonyEventDto,
  ) {
    const secret = this.config.telephony.webhookSecret;
    if (!secret) throw new DomainException('TELEPHONY_DISABLED', 'The telephony webhook is not configured (TELEPHONY_WEBHOOK_SECRET)');
    verifyTelephonyRequest(secret, { signature, timestamp }, req.rawBody, this.clock.now());
    return this.telephony.handle(event);
  }
}
