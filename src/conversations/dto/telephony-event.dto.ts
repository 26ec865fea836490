import { Type } from 'class-transformer';
import { IsIn, IsISO8601, IsNotEmptyObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { CALL_DIRECTIONS, type CallDirection } from '../call.entity';

export const TELEPHONY_EVENT_TYPES = ['call.started', 'call.answered', 'call.ended'] as const;
export type TelephonyEventType = (typeof TELEPHONY_EVENT_TYPES)[number];

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class TelephonyCallDto {
  /** The phone system's own call id. */
  @Matches(ID)
  id: string;

  @IsIn(CALL_DIRECTIONS)
  direction: CallDirection;

  /** The caller's number; stored masked and as a keyed hash, never in full. */
  @IsOptional()
  @Matches(/^\+?[0-9 ()./-]{6,32}$/)
  from?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  queue?: string;

  /** The customer's subject, when the phone system recognised the caller itself. */
  @IsOptional()
  @Matches(ID)
  customerSubject?: string;

  /** The agent who answered (call.answered). */
  @IsOptional()
  @Matches(ID)
  agentSubject?: string;
}

export class TelephonyEventDto {
  /** Unique per event: a replayed id is accepted once and ignored after. */
  @Matches(ID)
  id: string;

  @IsIn(TELEPHONY_EVENT_TYPES)
  type: TelephonyEventType;

  @IsISO8601({ strict: true })
  occurredAt: string;

  @IsNotEmptyObject()
  @ValidateNested()
  @Type(() => TelephonyCallDto)
  call: TelephonyCallDto;
}
