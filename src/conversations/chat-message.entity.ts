import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationEntity } from './conversation.entity';

export const SENDER_KINDS = ['customer', 'staff'] as const;
export type SenderKind = (typeof SENDER_KINDS)[number];

/** A chat message: personal data (R3.3), numbered gaplessly per conversation in commit order. */
@Entity('chat_messages')
@Check('CHK_chat_messages_sender_kind', `"sender_kind" IN ('customer', 'staff')`)
@Check('CHK_chat_messages_seq', `"seq" > 0`)
@Index('UQ_chat_messages_seq', ['conversationId', 'seq'], { unique: true })
@Index('UQ_chat_messages_client_id', ['conversationId', 'senderId', 'clientMessageId'], { unique: true })
export class ChatMessageEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_chat_messages_conversation' })
  conversation?: ConversationEntity;

  @Column({ type: 'integer' })
  seq: number;

  @Column({ name: 'sender_kind', type: 'text' })
  senderKind: SenderKind;

  /** customers.id or staff_members.id, by sender_kind. */
  @Column({ name: 'sender_id', type: 'uuid' })
  senderId: string;

  @Column({ type: 'text' })
  body: string;

  /** Chosen by the sending client; a resend with the same id is answered, not stored again. */
  @Column({ name: 'client_message_id', type: 'text' })
  clientMessageId: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
