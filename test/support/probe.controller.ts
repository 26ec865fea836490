import { Body, Controller, Get, Logger, Post, Query } from '@nestjs/common';
import { IsEmail, IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { DomainException } from '../../src/errors/domain.exception';
import { Public } from '../../src/identity/auth.decorators';

class ProbeMessageDto {
  @IsString()
  @MaxLength(200)
  text: string;

  @IsEmail()
  email: string;

  @IsString()
  phone: string;

  @IsInt()
  @Min(1)
  @Max(5)
  rating: number;
}

/**
 * Routes that exist only in tests: they make the app fail in each way a real
 * route can, and log what careless code would log, so the tests can check the
 * error bodies and what reaches the log.
 */
@Controller('probe')
export class ProbeController {
  private readonly logger = new Logger('Probe');

  @Public()
  @Post('messages')
  message(@Body() dto: ProbeMessageDto) {
    // Careless on purpose: logs the whole DTO and interpolates personal values into the message.
    this.logger.log({ dto, customer: { email: dto.email, phone: dto.phone } }, `message from ${dto.email} (${dto.phone})`);
    return { received: true };
  }

  @Public()
  @Get('crash')
  crash(@Query('who') who: string) {
    throw new Error(`database row for ${who} is broken`);
  }

  @Public()
  @Get('domain')
  domain() {
    throw new DomainException('CONFLICT', 'That was already done');
  }
}
