import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, MaxLength, Min, MinLength } from 'class-validator';
import { BooleanQuery, LimitQuery } from '../../http/query-decorators';
import { HOLD_SCOPES, type HoldScope } from '../legal-hold.entity';
import { RETENTION_CLOCKS, type RetentionClock } from '../retention-policy.entity';

export class PolicyChangeDto {
  @ApiPropertyOptional({ example: 'P30D', description: 'ISO 8601: whole days, weeks, months or years' })
  @IsOptional()
  @Matches(/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/, { message: 'duration must be an ISO 8601 duration such as P30D or P12M' })
  duration?: string;

  @ApiPropertyOptional({ enum: RETENTION_CLOCKS })
  @IsOptional()
  @IsIn(RETENTION_CLOCKS)
  starts?: RetentionClock;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  description?: string;
}

export class ApplyPolicyChangeDto extends PolicyChangeDto {
  @ApiProperty({ description: 'The `affected` count of the preview this change was reviewed with' })
  @IsInt()
  @Min(0)
  expectAffected: number;

  @ApiPropertyOptional({ description: 'The preview\'s `asOf`: items captured later do not make it stale' })
  @IsOptional()
  @IsISO8601({ strict: true })
  previewAsOf?: string;
}

export class PlaceHoldDto {
  @ApiProperty({ enum: HOLD_SCOPES })
  @IsIn(HOLD_SCOPES)
  scope: HoldScope;

  @ApiProperty({ format: 'uuid', description: 'The customer, conversation or artifact id' })
  @IsUUID()
  targetId: string;

  @ApiProperty({ example: 'Dispute 2026-114, counsel request' })
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  reason: string;

  @ApiPropertyOptional({ description: 'The hold lapses on its own then (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  endsAt?: string;
}

export class ReleaseHoldDto {
  @ApiProperty()
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  reason: string;
}

export class ListHoldsQuery {
  @BooleanQuery()
  active?: boolean;

  @LimitQuery(500, 100)
  limit: number = 100;
}
