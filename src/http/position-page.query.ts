import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';
import { LimitQuery } from './query-decorators';

/** Paging through an append-only log by position: `?after=<last seen>&limit=`. */
export class PositionPageQuery {
  @ApiPropertyOptional({ description: 'Entries after this position' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after: number = 0;

  @LimitQuery(500, 100)
  limit: number = 100;
}
