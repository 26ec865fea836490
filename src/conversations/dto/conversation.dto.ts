import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { CHANNELS, CONVERSATION_STATUSES, type Channel, type ConversationStatus } from '../conversation.entity';

const toBoolean = ({ value }: { value: unknown }) => (value === 'true' || value === true ? true : value === 'false' || value === false ? false : value);

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

  @ApiPropertyOptional({ description: 'Only the open, unassigned queue' })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  unassigned?: boolean;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 50;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class HistoryQuery {
  @ApiPropertyOptional({ description: 'Messages after this sequence number', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after: number = 0;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
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

  @IsString()
  @IsNotEmpty()
  body: string;
}

export class SendMessageEvent extends PostMessageDto {
  @IsUUID()
  conversationId: string;
}

export class JoinConversationEvent {
  @IsUUID()
  conversationId: string;

  /** The last sequence number this client saw; it receives everything after it. */
  @IsOptional()
  @IsInt()
  @Min(0)
  afterSeq: number = 0;
}

export class ConversationRefEvent {
  @IsUUID()
  conversationId: string;
}
