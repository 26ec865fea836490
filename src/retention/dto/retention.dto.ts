import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsUUID, Matches, ValidateBy } from 'class-validator';
import { IntField, SAFE_INT_MAX } from '../../http/number-fields';
import { TextField } from '../../http/text-field';
import { BooleanQuery, LimitQuery } from '../../http/query-decorators';
import { HOLD_SCOPES, type HoldScope } from '../legal-hold.entity';
import { RETENTION_CLOCKS, type RetentionClock } from '../retention-policy.entity';

/** Longest retention a policy may name: far short of where PostgreSQL's interval overflows. */
export const MAX_RETENTION_YEARS = 100;

/** The whole duration (years, months, weeks, days) is at most `years`. */
function AtMostYears(years: number): PropertyDecorator {
  return ValidateBy({
    name: 'atMostYears',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string') return true; // the pattern refuses it
        const part = (unit: string) => Number(new RegExp(`(\\d+)${unit}`).exec(value.slice(1))?.[1] ?? 0);
        return part('Y') + part('M') / 12 + (part('W') * 7 + part('D')) / 365.25 <= years;
      },
      defaultMessage: () => `duration must be at most ${years} years`,
    },
  });
}

export class PolicyChangeDto {
  @ApiPropertyOptional({ example: 'P30D', description: 'ISO 8601: whole days, weeks, months or years' })
  @IsOptional()
  @Matches(/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/, { message: 'duration must be an ISO 8601 duration such as P30D or P12M' })
  @AtMostYears(MAX_RETENTION_YEARS)
  duration?: string;

  @ApiPropertyOptional({ enum: RETENTION_CLOCKS })
  @IsOptional()
  @IsIn(RETENTION_CLOCKS)
  starts?: RetentionClock;

  @ApiPropertyOptional()
  @TextField({ optional: true, min: 3, max: 500 })
  description?: string;
}

export class ApplyPolicyChangeDto extends PolicyChangeDto {
  @ApiProperty({ description: 'The `affected` count of the preview this change was reviewed with' })
  @IntField({ max: SAFE_INT_MAX })
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
  @TextField({ min: 3, max: 1000 })
  reason: string;

  @ApiPropertyOptional({ description: 'The hold lapses on its own then (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  endsAt?: string;
}

export class ReleaseHoldDto {
  @ApiProperty()
  @TextField({ min: 3, max: 1000 })
  reason: string;
}

export class ListHoldsQuery {
  @BooleanQuery()
  active?: boolean;

  @LimitQuery(500, 100)
  limit: number = 100;
}
