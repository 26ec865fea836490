import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { TextField } from '../../http/text-field';

/** Every read of content states its purpose (R1.3); a privacy officer also a reason. */
export class ReadArtifactQuery {
  @ApiProperty({ example: 'support' })
  @Matches(/^[a-z][a-z0-9_]{1,39}$/, { message: 'purpose must be a purpose code' })
  purpose: string;

  @ApiPropertyOptional({ description: 'Why a privacy officer reads this (kept in the audit trail)' })
  @TextField({ optional: true, min: 3, max: 500 })
  reason?: string;
}
