import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ArtifactEntity } from '../artifacts/artifact.entity';
import { ConversationEntity } from '../conversations/conversation.entity';
import { CustomerEntity } from '../directory/customer.entity';

export const HOLD_SCOPES = ['subject', 'conversation', 'artifact'] as const;
export type HoldScope = (typeof HOLD_SCOPES)[number];

/**
 * A legal hold (R10.3): while active, nothing it covers is purged. On a data
 * subject, a conversation or one artifact, with a reason and an optional end;
 * placed and released by a privacy officer, both audited. No cap on how many.
 */
@Entity('legal_holds')
@Check('CHK_legal_holds_scope', `"scope" IN ('subject', 'conversation', 'artifact')`)
@Check(
  'CHK_legal_holds_target',
  `("scope" = 'subject' AND "customer_id" IS NOT NULL AND "conversation_id" IS NULL AND "artifact_id" IS NULL)
   OR ("scope" = 'conversation' AND "conversation_id" IS NOT NULL AND "customer_id" IS NULL AND "artifact_id" IS NULL)
   OR ("scope" = 'artifact' AND "artifact_id" IS NOT NULL AND "customer_id" IS NULL AND "conversation_id" IS NULL)`,
)
@Check('CHK_legal_holds_released', `("released_at" IS NULL) = ("released_by" IS NULL)`)
@Check('CHK_legal_holds_reason', `length(trim("reason")) >= 3`)
@Index('IDX_legal_holds_customer', ['customerId'], { where: `"released_at" IS NULL` })
@Index('IDX_legal_holds_conversation', ['conversationId'], { where: `"released_at" IS NULL` })
@Index('IDX_legal_holds_artifact', ['artifactId'], { where: `"released_at" IS NULL` })
export class LegalHoldEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  scope: HoldScope;

  @Column({ name: 'customer_id', type: 'uuid', nullable: true })
  customerId: string | null;

  @ManyToOne(() => CustomerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_legal_holds_customer' })
  customer?: CustomerEntity;

  @Column({ name: 'conversation_id', type: 'uuid', nullable: true })
  conversationId: string | null;

  @ManyToOne(() => ConversationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_legal_holds_conversation' })
  conversation?: ConversationEntity;

  @Column({ name: 'artifact_id', type: 'uuid', nullable: true })
  artifactId: string | null;

  @ManyToOne(() => ArtifactEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'artifact_id', foreignKeyConstraintName: 'FK_legal_holds_artifact' })
  artifact?: ArtifactEntity;

  /** Why (a case number, a request): shown to privacy officers, never to the subject's counterpart. */
  @Column({ type: 'text' })
  reason: string;

  /** staff_members.id */
  @Column({ name: 'placed_by', type: 'uuid' })
  placedBy: string;

  @Column({ name: 'placed_at', type: 'timestamptz' })
  placedAt: Date;

  /** The hold lapses on its own at this time, when set. */
  @Column({ name: 'ends_at', type: 'timestamptz', nullable: true })
  endsAt: Date | null;

  @Column({ name: 'released_by', type: 'uuid', nullable: true })
  releasedBy: string | null;

  @Column({ name: 'released_at', type: 'timestamptz', nullable: true })
  releasedAt: Date | null;

  @Column({ name: 'release_reason', type: 'text', nullable: true })
  releaseReason: string | null;
}
