import { Type } from 'class-transformer';
import { IsIn, IsISO8601, IsNotEmptyObject, IsOptional, Matches, ValidateIf, ValidateNested } from 'class-validator';
import { CALL_DIRECTIONS, type CallDirection } from '../../conversations/call.entity';
import { TextField } from '../../http/text-field';

export const TELEPHONY_EVENT_TYPES = ['call.started', 'call.answered', 'call.ended', 'consent.keypress'] as const;
export type TelephonyEventType = (typeof TELEPHONY_EVENT_TYPES)[number];

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class TelephonyCallDto {
  /** The phone system's own call id. */
  @Matches(ID)
  id: string;

  /** Required on call.started. */
  @IsOptional()
  @IsIn(CALL_DIRECTIONS)
  direction?: CallDirection;

  /** The caller's number; stored masked and as a keyed hash, never in full. */
  @IsOptional()
  @Matches(/^\+?[0-9 ()./-]{6,32}$/)
  from?: string;

  @TextField({ optional: true, max: 100 })
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

/** R3.4: the caller pressed a key to grant or withdraw consent; the phone system relays it, signed. */
export class TelephonyConsentDto {
  /** call_recording unless the prompt asked for another purpose (transcription). */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]{1,39}$/)
  purpose: string = 'call_recording';

  @IsIn(['grant', 'withdraw'])
  decision: 'grant' | 'withdraw';

  /** The key pressed: the evidence of the caller's own action (R1.1). */
  @Matches(/^[0-9*#]$/, { message: 'digit must be one key: 0-9, * or #' })
  digit: string;

  /** The hash of the text the prompt read out, when the phone system knows it. */
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/)
  textHash?: string;
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

  @ValidateIf((e: TelephonyEventDto) => e.type === 'consent.keypress' || e.consent !== undefined)
  @IsNotEmptyObject()
  @ValidateNested()
  @Type(() => TelephonyConsentDto)
  consent?: TelephonyConsentDto;
}
