import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/** Query strings carry text: "true" and "false" become booleans, anything else is left for the validator to refuse. */
const toBoolean = ({ value }: { value: unknown }) => (value === 'true' || value === true ? true : value === 'false' || value === false ? false : value);

/** `?limit=`: a whole number from 1 to `max`; the property's initializer is the default, shown as `fallback`. */
export function LimitQuery(max: number, fallback: number): PropertyDecorator {
  return applyDecorators(ApiPropertyOptional({ minimum: 1, maximum: max, default: fallback }), IsOptional(), Type(() => Number), IsInt(), Min(1), Max(max));
}

/** `?flag=true|false`. */
export function BooleanQuery(doc: ApiPropertyOptions = {}): PropertyDecorator {
  return applyDecorators(ApiPropertyOptional(doc), IsOptional(), Transform(toBoolean), IsBoolean());
}
