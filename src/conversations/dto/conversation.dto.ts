import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Matches, Max, Min } from 'class-validator';
import { DomainException } from '../../errors/domain.exception';
import { BooleanQuery, LimitQuery } from '../../http/query-decorators';
import { TextField, textProblem } from '../../http/text-field';
import { CHANNELS, CONVERSATION_STATUSES, type Channel, type ConversationStatus } from '../conversation.entity';

/** Sequence numbers are PostgreSQL integers. */
const MAX_SEQ = 2_147_483_647;


export class ListConversationsQuery {
  @ApiPropertyOptional({ enum: CONVERSATION_STATUSES })
  @IsOptional()
  @IsIn(CONVERSATION_STATUSES)
  status?: ConversationStatus;

  @ApiPropertyOptional({ enum: CHANNELS })
  @IsOptional()
  @IsIn(CHANNELS)
  channel?: Channel;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  agentId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  customerId?: string;

  @BooleanQuery({ description: 'Only the open, unassigned queue' })
  unassigned?: boolean;

  @LimitQuery(100, 50)
  limit: number = 50;

  @ApiPropertyOptional()
  @TextField({ optional: true, max: 200 })
  cursor?: string;
}

export class HistoryQuery {
  @ApiPropertyOptional({ description: 'Messages after this sequence number', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after: number = 0;

  @LimitQuery(500, 100)
  limit: number = 100;
}

export class AssignConversationDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Admins only: the agent to assign; default yourself' })
  @IsOptional()
  @IsUUID()
  agentId?: string;
}

export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class PostMessageDto {
  /** Chosen by the client (a UUID is fine); resending with it stores nothing twice. */
  @Matches(CLIENT_MESSAGE_ID, { message: 'clientMessageId must be 1-64 of A-Z a-z 0-9 _ -' })
  clientMessageId: string;

  /** Sent as written (newlines and tabs too); its longest is CHAT_MESSAGE_MAX_LENGTH (413). */
  @TextField({ multiline: true, keepWhitespace: true })
  body: string;
}

export interface SendMessageEvent {
  conversationId: string;
  clientMessageId: string;
  body: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEND_FIELDS = new Set(['conversationId', 'clientMessageId', 'body']);

/**
 * The same rules as PostMessageDto plus a conversation id, checked by hand:
 * this runs for every chat message, where the decorator-based pipe was the
 * largest cost per message (bench:chat).
 */
export function parseSendMessageEvent(payload: unknown): SendMessageEvent {
  const problems: string[] = [];
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new DomainException('VALIDATION_FAILED', 'The request is not valid', ['payload must be an object']);
  }
  const p = payload as Record<string, unknown>;
  for (const key of Object.keys(p)) if (!SEND_FIELDS.has(key)) problems.push(`property ${key} should not exist`);
  if (typeof p.conversationId !== 'string' || !UUID.test(p.conversationId)) problems.push('conversationId must be a UUID');
  if (typeof p.clientMessageId !== 'string' || !CLIENT_MESSAGE_ID.test(p.clientMessageId)) {
    problems.push('clientMessageId must be 1-64 of A-Z a-z 0-9 _ -');
  }
  const bodyProblem = textProblem('body', p.body, { multiline: true });
  if (bodyProblem) problems.push(bodyProblem);
  if (problems.length > 0) throw new DomainException('VALIDATION_FAILED', 'The request is not valid', problems);
  return { conversationId: p.conversationId as string, clientMessageId: p.clientMessageId as string, body: p.body as string };
}

export class JoinConversationEvent {
  @IsUUID()
  conversationId: string;

  /** The last sequence number this client saw; it receives everything after it. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  afterSeq: number = 0;
}

export class ConversationRefEvent {
  @IsUUID()
  conversationId: string;
}
