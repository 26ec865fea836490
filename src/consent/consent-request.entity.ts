import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationEntity } from '../conversations/conversation.entity';
import { CustomerEntity } from '../directory/customer.entity';
import { ConsentTextVersionEntity } from './consent-text-version.entity';
import { PurposeEntity } from './purpose.entity';

export const REQUEST_STATUSES = ['pending', 'granted', 'denied', 'expired'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/**
 * An agent's question to a customer in a conversation, for one purpose. Its
 * status moves once, from pending; the ledger holds the events themselves.
 */
@Entity('consent_requests')
@Check('CHK_consent_requests_status', `"status" IN ('pending', 'granted', 'denied', 'expired')`)
@Check('CHK_consent_requests_closed', `("status" = 'pending') = ("closed_at" IS NULL)`)
@Index('IDX_consent_requests_pending_expiry', ['expiresAt'], { where: `"status" = 'pending'` })
@Index('UQ_consent_requests_pending', ['conversationId', 'purpose'], { unique: true, where: `"status" = 'pending'` })
@Index('IDX_consent_requests_conversation', ['conversationId', 'createdAt'])
export class ConsentRequestEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_consent_requests_conversation' })
  conversation?: ConversationEntity;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_consent_requests_customer' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  purpose: string;

  @ManyToOne(() => PurposeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'purpose', foreignKeyConstraintName: 'FK_consent_requests_purpose' })
  purposeRow?: PurposeEntity;

  /** staff_members.id of who asked. */
  @Column({ name: 'requested_by', type: 'uuid' })
  requestedBy: string;

  @Column({ name: 'text_version_id', type: 'uuid' })
  textVersionId: string;

  @ManyToOne(() => ConsentTextVersionEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'text_version_id', foreignKeyConstraintName: 'FK_consent_requests_text_version' })
  textVersion?: ConsentTextVersionEntity;

  /** The customer's own tag (en-GB), used to format dates; the text is in the version's language. */
  @Column({ type: 'text' })
  locale: string;

  @Column({ type: 'text', default: 'pending' })
  status: RequestStatus;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  /** When it was answered or expired. */
  @Column({ name: 'closed_at', type: 'timestamptz', nullable: true })
  closedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
