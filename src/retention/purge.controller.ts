import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { DirectoryService } from '../directory/directory.service';
import { CurrentPrincipal, Roles } from '../identity/auth.decorators';
import type { Principal } from '../identity/principal';
import { PurgeService } from './purge.service';

export class PurgeRunsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
}

/** Purge history for privacy officers; for customers, what of theirs was purged and what a hold kept (R10.2, R10.4). */
@ApiTags('retention')
@ApiBearerAuth()
@Controller()
export class PurgeController {
  constructor(
    private readonly purge: PurgeService,
    private readonly artifacts: ArtifactsService,
    private readonly directory: DirectoryService,
  ) {}

  @Get('retention/purge-runs')
  @Roles('privacy_officer', 'admin')
  runs(@Query() query: PurgeRunsQuery) {
    return this.purge.runs(query.limit);
  }

  @Get('me/purged')
  @Roles('customer')
  async mine(@CurrentPrincipal() principal: Principal) {
    return this.artifacts.purgeReport((await this.directory.participantFor(principal)).id);
  }
}
