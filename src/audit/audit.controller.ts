import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { PositionPageQuery } from '../http/position-page.query';
import { TextField } from '../http/text-field';
import { Roles } from '../identity/auth.decorators';
import { AuditService } from './audit.service';

export class AuditQueryDto extends PositionPageQuery {
  @ApiPropertyOptional()
  @TextField({ optional: true, max: 200 })
  targetId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  actorId?: string;
}

/** The audit trail for privacy officers (R5.1): read it, and check that nobody changed it. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
@Roles('privacy_officer', 'admin')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  async list(@Query() query: AuditQueryDto) {
    const items = await this.audit.list({ targetId: query.targetId, actorId: query.actorId, afterSeq: query.after, limit: query.limit });
    return { items, nextAfter: items.length === query.limit ? items[items.length - 1].seq : null };
  }

  /** Recomputes the whole chain; `firstBroken` names the first event that was changed or removed. */
  @Get('verify')
  verify() {
    return this.audit.verify();
  }
}
