import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

/** PostgreSQL integer (int4). */
export const INT4_MAX = 2_147_483_647;
/** A bigint that still is an exact JavaScript number; positions and counts never get near it. */
export const SAFE_INT_MAX = Number.MAX_SAFE_INTEGER;

/**
 * A whole number from `min` to `max`, bounded to what its column holds (a
 * cursor past 2^63 is a 400, not a database error). `query`: it comes as text.
 */
export function IntField(options: { min?: number; max: number; query?: boolean }): PropertyDecorator {
  return applyDecorators(...(options.query ? [Type(() => Number)] : []), IsInt(), Min(options.min ?? 0), Max(options.max));
}
