import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import { Public } from '../identity/auth.decorators';
import { TelephonyEventDto } from './dto/telephony-event.dto';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './telephony-signature';
import { TelephonySignatureGuard } from './telephony-signature.guard';
import { TelephonyService } from './telephony.service';

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
}
