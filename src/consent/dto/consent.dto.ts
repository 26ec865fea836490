import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsUUID,
  Matches,
} from 'class-validator';
import { PositionPageQuery } from '../../http/position-page.query';
import { TextField, TextRecordField } from '../../http/text-field';
import { TEXT_LOCALES, type TextLocale } from '../../i18n/locale';
import { LEGAL_BASES, type LegalBasis } from '../purpose.entity';

export const CODE = /^[a-z][a-z0-9_]{1,39}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export class AskConsentDto {
  @ApiProperty({ example: ['diagnostics'], description: 'One or more purposes to ask for' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @Matches(CODE, { each: true, message: 'each purpose must be a purpose code' })
  purposes: string[];
}

export class AskConsentEvent extends AskConsentDto {
  @IsUUID()
  conversationId: string;
}

export class AnswerConsentDto {
  @ApiProperty({ enum: ['grant', 'deny'] })
  @IsIn(['grant', 'deny'])
  decision: 'grant' | 'deny';

  @ApiProperty({ description: 'SHA-256 (hex) of the exact text the customer was shown' })
  @Matches(SHA256, { message: 'textHash must be the hex SHA-256 of the text shown' })
  textHash: string;
}

export class AnswerConsentEvent extends AnswerConsentDto {
  @IsUUID()
  requestId: string;
}

export class WithdrawConsentEvent {
  @IsUUID()
  conversationId: string;

  @Matches(CODE)
  purpose: string;
}

export class ConversationConsentEvent {
  @IsUUID()
  conversationId: string;
}

export class StandingChoiceDto {
  @ApiProperty({ enum: ['grant', 'withdraw'] })
  @IsIn(['grant', 'withdraw'])
  decision: 'grant' | 'withdraw';

  @ApiPropertyOptional({ description: 'To grant: SHA-256 (hex) of the current text the customer read' })
  @IsOptional()
  @Matches(SHA256, { message: 'textHash must be the hex SHA-256 of the text shown' })
  textHash?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Withdraw in this conversation only: what was captured in it goes, whichever earlier grant it was captured under; a standing grant still holds elsewhere' })
  @IsOptional()
  @IsUUID()
  conversationId?: string;
}

export class HistoryQueryDto extends PositionPageQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(CODE)
  purpose?: string;
}

export class LedgerQueryDto extends HistoryQueryDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  customerId: string;
}

export class LocaleQueryDto {
  @ApiPropertyOptional({ example: 'en-GB', description: 'Overrides Accept-Language' })
  @IsOptional()
  @Matches(/^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/)
  locale?: string;
}

export class CreatePurposeDto {
  @ApiProperty({ example: 'screen_sharing' })
  @Matches(CODE, { message: 'code must be lower case letters, digits and _ (2 to 40)' })
  code: string;

  @ApiProperty({ enum: LEGAL_BASES })
  @IsIn(LEGAL_BASES)
  legalBasis: LegalBasis;

  @ApiProperty({ example: 'diagnostics' })
  @Matches(CODE)
  retentionTag: string;

  @ApiProperty({ example: ['screen_image'] })
  @IsArray()
  @ArrayMaxSize(20)
  @Matches(CODE, { each: true })
  categories: string[];

  @ApiProperty()
  @TextField({ min: 3, max: 500 })
  description: string;
}

export class UpdatePurposeDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(CODE)
  retentionTag?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @Matches(CODE, { each: true })
  categories?: string[];

  @ApiPropertyOptional()
  @TextField({ optional: true, min: 3, max: 500 })
  description?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class PublishTextDto {
  @ApiProperty({ enum: TEXT_LOCALES })
  @IsIn(TEXT_LOCALES)
  locale: TextLocale;

  @ApiProperty()
  @TextField({ min: 3, max: 200 })
  title: string;

  @ApiProperty({ description: 'Plain text; must contain {categories}, {privacyContact} and {authority}' })
  @TextField({ min: 20, max: 10_000, multiline: true })
  body: string;

  @ApiProperty({ example: { device_state: 'How your device worked' }, description: 'A label per category code of the purpose' })
  @IsObject()
  @TextRecordField({ maxEntries: 50, max: 200 })
  categories: Record<string, string>;

  @ApiPropertyOptional({ description: 'When it takes over (ISO 8601); now when absent or past' })
  @IsOptional()
  @IsISO8601({ strict: true })
  effectiveFrom?: string;
}

export class ProfileLocaleDto {
  @ApiPropertyOptional({ example: 'en-GB', nullable: true })
  @IsOptional()
  @Matches(/^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/)
  locale?: string | null;

  @ApiPropertyOptional({ example: 'NL', nullable: true })
  @IsOptional()
  @Matches(/^[A-Za-z]{2}$/)
  country?: string | null;
}
