import { Body, Controller, Get, Headers, HttpCode, Param, ParseIntPipe, Post, Query, Req, SetMetadata, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Readable } from 'node:stream';
import { DomainException } from '../errors/domain.exception';
import { uploadBody } from '../http/request-timeouts';
import { Public } from '../identity/auth.decorators';
import { RateLimitAs } from '../rate-limit/rate-limit.decorators';
import { TelephonyEventDto } from './dto/telephony-event.dto';
import { CONTENT_SHA256_HEADER, SIGNATURE_HEADER, STREAMED_BODY, TIMESTAMP_HEADER } from './telephony-signature';
import { TelephonySignatureGuard } from './telephony-signature.guard';
import { TelephonyService } from './telephony.service';

const CALL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The phone system's webhook: authenticated by its HMAC signature, not by a bearer token. */
@ApiTags('telephony')
// One phone system sends every call's events from its address: a budget of its own.
@RateLimitAs('webhook')
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

  /** A recording segment (R3.4): audio as the body, signed over path and `x-content-sha256`; 201 only while consent holds. */
  @Public()
  @SetMetadata(STREAMED_BODY, true)
  @UseGuards(TelephonySignatureGuard)
  @Post('calls/:id/recordings/:segment')
  @ApiHeader({ name: CONTENT_SHA256_HEADER, description: 'hex SHA-256 of the body; the signature covers "<timestamp>.POST <path> <sha256>"' })
  recording(
    @Param('id') callId: string,
    @Param('segment', new ParseIntPipe({ exceptionFactory: () => new DomainException('VALIDATION_FAILED', 'segment must be a number') })) segment: number,
    @Req() req: Request,
    @Headers(CONTENT_SHA256_HEADER) sha256: string,
  ) {
    if (!CALL_ID.test(callId)) throw new DomainException('VALIDATION_FAILED', 'The call id is not valid');
    if (segment < 1 || segment > 100_000) throw new DomainException('VALIDATION_FAILED', 'segment must be between 1 and 100000');
    return this.telephony.captureFromCall({ providerCallId: callId, kind: 'call_recording', body: streamedBody(req), sha256, contentLength: lengthOf(req), attributes: { segment } });
  }

  /** A transcript of the call's spoken messages (purpose transcription), signed like a recording. */
  @Public()
  @SetMetadata(STREAMED_BODY, true)
  @UseGuards(TelephonySignatureGuard)
  @Post('calls/:id/transcripts')
  @ApiHeader({ name: CONTENT_SHA256_HEADER, description: 'hex SHA-256 of the body' })
  transcript(@Param('id') callId: string, @Req() req: Request, @Headers(CONTENT_SHA256_HEADER) sha256: string) {
    if (!CALL_ID.test(callId)) throw new DomainException('VALIDATION_FAILED', 'The call id is not valid');
    return this.telephony.captureFromCall({ providerCallId: callId, kind: 'call_transcript', body: streamedBody(req), sha256, contentLength: lengthOf(req), attributes: {} });
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

/** The request itself is the body. */
function streamedBody(req: Request): Readable {
  return uploadBody(req, 'audio/*, text/plain or application/octet-stream');
}

function lengthOf(req: Request): number | undefined {
  const length = Number(req.headers['content-length']);
  return Number.isSafeInteger(length) && length > 0 ? length : undefined;
}
