import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IntField, SAFE_INT_MAX } from './number-fields';
import { LimitQuery } from './query-decorators';

/** Paging through an append-only log by position: `?after=<last seen>&limit=`. */
export class PositionPageQuery {
  @ApiPropertyOptional({ description: 'Entries after this position', minimum: 0, maximum: SAFE_INT_MAX })
  @IsOptional()
  @IntField({ max: SAFE_INT_MAX, query: true })
  after: number = 0;

  @LimitQuery(500, 100)
  limit: number = 100;
}
