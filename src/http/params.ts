import { ParseUUIDPipe, type PipeTransform } from '@nestjs/common';
import { DomainException } from '../errors/domain.exception';

/** Route ids: a UUID, or 400 VALIDATION_FAILED. */
export const uuidParam = new ParseUUIDPipe({ exceptionFactory: () => new DomainException('VALIDATION_FAILED', 'The id must be a UUID') });

/** Route codes (a purpose, a retention tag): lower case letters, digits and _, 2 to 40. */
export function codeParam(what: string): PipeTransform<string, string> {
  return {
    transform(value: string) {
      if (!/^[a-z][a-z0-9_]{1,39}$/.test(value)) throw new DomainException('VALIDATION_FAILED', `The ${what} must be a ${what} code`);
      return value;
    },
  };
}
