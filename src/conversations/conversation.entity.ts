import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CustomerEntity } from '../directory/customer.entity';
import { StaffMemberEntity } from '../directory/staff-member.entity';

export const CHANNELS = ['chat', 'call'] as const;
export const CONVERSATION_STATUSES = ['open', 'closed'] as const;
export type Channel = (typeof CHANNELS)[number];
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];

/** One support contact: a chat, or the calls of one phone contact (R3.1, R3.3). */
@Entity('conversations')
@Check('CHK_conversations_channel', `"channel" IN ('chat', 'call')`)
@Check('CHK_conversations_status', `"status" IN ('open', 'closed')`)
@Index('IDX_conversations_erasable', ['closedAt'], { where: `"status" = 'closed' AND "bodies_erased_at" IS NULL` })
@Check('CHK_conversations_closed', `("status" = 'closed') = ("closed_at" IS NOT NULL)`)
@Index('IDX_conversations_queue', ['openedAt'], { where: `"status" = 'open' AND "assigned_agent_id" IS NULL` })
@Index('IDX_conversations_agent', ['assignedAgentId', 'status'])
@Index('IDX_conversations_customer', ['customerId', 'channel', 'status'])
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  channel: Channel;

  @Column({ type: 'text', default: 'open' })
  status: ConversationStatus;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_conversations_customer' })
  customer?: CustomerEntity;

  @Column({ name: 'assigned_agent_id', type: 'uuid', nullable: true })
  assignedAgentId: string | null;

  @ManyToOne(() => StaffMemberEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'assigned_agent_id', foreignKeyConstraintName: 'FK_conversations_agent' })
  assignedAgent?: StaffMemberEntity;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt: Date;

  @Column({ name: 'assigned_at', type: 'timestamptz', nullable: true })
  assignedAt: Date | null;

  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt: Date | null;

  /** When its messages' bodies were erased by the purge (they follow the transcript's tag, R10.1). */
  @Column({ name: 'bodies_erased_at', type: 'timestamptz', nullable: true })
  bodiesErasedAt: Date | null;

  /** Last message sequence number handed out: the counter behind gapless sequences. */
  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq: number;
}
