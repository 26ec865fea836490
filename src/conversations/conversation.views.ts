import type { CallEntity } from './call.entity';
import type { Channel, ConversationStatus } from './conversation.entity';
import type { SenderKind } from './chat-message.entity';

/** What every role may see of a conversation: who, when, how long, how many (no content). */
export interface ConversationView {
  id: string;
  channel: Channel;
  status: ConversationStatus;
  customerId: string;
  assignedAgentId: string | null;
  openedAt: string;
  assignedAt: string | null;
  closedAt: string | null;
  /** Until closing, or until now while open. */
  durationSeconds: number;
  messageCount: number;
  calls?: CallView[];
}

export interface CallView {
  id: string;
  providerCallId: string;
  direction: string;
  callerNumberMasked: string | null;
  queue: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  recordingState: string;
}

/** Content: only for the customer and the staff handling the conversation. */
export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  sender: { kind: SenderKind; id: string };
  body: string;
  clientMessageId: string;
  createdAt: string;
}

/** A conversation row as read by the service's own queries (snake_case from SQL). */
export interface ConversationRow {
  id: string;
  channel: Channel;
  status: ConversationStatus;
  customer_id: string;
  assigned_agent_id: string | null;
  opened_at: Date;
  assigned_at: Date | null;
  closed_at: Date | null;
  last_seq: number;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_kind: SenderKind;
  sender_id: string;
  body: string;
  client_message_id: string;
  created_at: Date;
}

export function toConversationView(row: ConversationRow, now: Date, calls?: CallEntity[]): ConversationView {
  const end = row.closed_at ?? now;
  return {
    id: row.id,
    channel: row.channel,
    status: row.status,
    customerId: row.customer_id,
    assignedAgentId: row.assigned_agent_id,
    openedAt: row.opened_at.toISOString(),
    assignedAt: row.assigned_at?.toISOString() ?? null,
    closedAt: row.closed_at?.toISOString() ?? null,
    durationSeconds: Math.max(0, Math.round((end.getTime() - row.opened_at.getTime()) / 1000)),
    messageCount: row.last_seq,
    ...(calls && { calls: calls.map(toCallView) }),
  };
}

export function toCallView(call: CallEntity): CallView {
  return {
    id: call.id,
    providerCallId: call.providerCallId,
    direction: call.direction,
    callerNumberMasked: call.callerNumberMasked,
    queue: call.queue,
    startedAt: call.startedAt.toISOString(),
    answeredAt: call.answeredAt?.toISOString() ?? null,
    endedAt: call.endedAt?.toISOString() ?? null,
    durationSeconds: call.durationSeconds,
    recordingState: call.recordingState,
  };
}

export function toMessageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    sender: { kind: row.sender_kind, id: row.sender_id },
    body: row.body,
    clientMessageId: row.client_message_id,
    createdAt: row.created_at.toISOString(),
  };
}
