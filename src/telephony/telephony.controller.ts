import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DomainException } from '../errors/domain.exception';
import { Public } from '../identity/auth.decorators';
import { TelephonyEventDto } from './dto/telephony-event.dto';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './telephony-signature';
import { TelephonySignatureGuard } from './telephony-signature.guard';
import { TelephonyService } from './telephony.service';

const CALL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The phone system's webhook: authenticated by its HMAC signature, not by a bearer token. */
@ApiTags('telephony')
@Controller('telephony')
export class TelephonyController {
  constructor(private readonly telephony: TelephonyService) {}

  @Public()
  @UseGuards(TelephonySignatureGuard)
  @Post('events')
  @HttpCode(200)
  @ApiHeader({ name: TIMESTAMP_HEADER, description: 'Unix seconds; refused when more than 5 minutes off' })
  @ApiHeader({ name: SIGNATURE_HEADER, description: 'v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">' })
  receive(@Body() event: TelephonyEventDto) {
    return this.telephony.handle(event);
  }

  /** R3.4: may this call be recorded now? Asked before recording and before every segment. */
  @Public()
  @UseGuards(TelephonySignatureGuard)
  @Get('calls/:id/recording-permission')
  @ApiHeader({ name: TIMESTAMP_HEADER, description: 'Unix seconds; refused when more than 5 minutes off' })
  @ApiHeader({ name: SIGNATURE_HEADER, description: 'v1=<hex HMAC-SHA256 of "<timestamp>.GET <path and query>">' })
  @ApiQuery({ name: 'purpose', required: false, description: 'call_recording (default) or transcription' })
  permission(@Param('id') callId: string, @Query('purpose') purpose?: string) {
    if (!CALL_ID.test(callId)) throw new DomainException('VALIDATION_FAILED', 'The call id is not valid');
    if (purpose !== undefined && !/^[a-z][a-z0-9_]{1,39}$/.test(purpose)) throw new DomainException('VALIDATION_FAILED', 'purpose must be a purpose code');
    return this.telephony.recordingPermission(callId, purpose);
  }
}
