import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationEntity } from '../conversations/conversation.entity';
import { CustomerEntity } from '../directory/customer.entity';
import { ConsentEventEntity } from './consent-event.entity';

/**
 * R3.2: the hand-off from a diagnostics grant to the upload. Single use and
 * short-lived, bound to one conversation, customer, purpose and grant; only
 * the token's hash is stored.
 */
@Entity('consent_upload_tokens')
@Index('IDX_consent_upload_tokens_expiry', ['expiresAt'])
export class UploadTokenEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('UQ_consent_upload_tokens_hash', { unique: true })
  @Column({ name: 'token_sha256', type: 'text' })
  tokenSha256: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_consent_upload_tokens_conversation' })
  conversation?: ConversationEntity;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_consent_upload_tokens_customer' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  purpose: string;

  @Column({ name: 'consent_event_id', type: 'uuid' })
  consentEventId: string;

  @ManyToOne(() => ConsentEventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'consent_event_id', foreignKeyConstraintName: 'FK_consent_upload_tokens_event' })
  consentEvent?: ConsentEventEntity;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
