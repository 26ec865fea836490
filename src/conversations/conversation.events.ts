import type { ConversationView, MessageView } from './conversation.views';

/** Emitted after the transaction that made them true has committed, never from inside it. */
export const CONVERSATION_EVENTS = {
  opened: 'conversation.opened',
  assigned: 'conversation.assigned',
  closed: 'conversation.closed',
  /** One event per committed batch, in sequence order per conversation. */
  messagesCreated: 'conversation.messages-created',
  /** R3.4: a recording in this conversation must stop now (telephony, after a withdrawal). */
  recordingStop: 'conversation.recording-stop',
} as const;

export interface RecordingStopEvent {
  conversationId: string;
  /** The phone system's call id. */
  callId: string;
  purpose: string;
  reason: 'consent_withdrawn';
  consentEventId: string;
  at: string;
}

export interface ConversationChangedEvent {
  conversation: ConversationView;
  /** On reassignment: the agent who no longer handles it (their sockets must stop receiving it). */
  previousAgentId?: string | null;
}

export interface MessagesCreatedEvent {
  messages: MessageView[];
}
