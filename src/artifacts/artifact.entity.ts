import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConsentEventEntity } from '../consent/consent-event.entity';
import { PurposeEntity } from '../consent/purpose.entity';
import { ConversationEntity } from '../conversations/conversation.entity';
import { CustomerEntity } from '../directory/customer.entity';

export const ARTIFACT_KINDS = ['chat_transcript', 'attachment', 'diagnostics_bundle', 'call_recording', 'call_transcript'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
export const ARTIFACT_STATES = ['pending', 'stored', 'purging', 'purged'] as const;
export type ArtifactState = (typeof ARTIFACT_STATES)[number];

/**
 * Everything captured (design invariants 1, 2, 5): what it is, whose, why
 * (purpose and legal basis, with the consent event when consent is the
 * basis), until when (retention tag, retain_until set when written), and
 * where its bytes are. `pending` -> `stored` on capture; `purging` ->
 * `purged` (a tombstone) when it expires.
 */
@Entity('artifacts')
@Check('CHK_artifacts_kind', `"kind" IN ('chat_transcript', 'attachment', 'diagnostics_bundle', 'call_recording', 'call_transcript')`)
@Check('CHK_artifacts_state', `"state" IN ('pending', 'stored', 'purging', 'purged')`)
@Check('CHK_artifacts_legal_basis', `("legal_basis" = 'contract' AND "consent_event_id" IS NULL) OR ("legal_basis" = 'consent' AND "consent_event_id" IS NOT NULL)`)
@Check('CHK_artifacts_captured_by_kind', `"captured_by_kind" IN ('customer', 'staff', 'system', 'telephony')`)
@Check('CHK_artifacts_stored', `"state" <> 'stored' OR ("storage_key" IS NOT NULL AND "size" IS NOT NULL AND "sha256" IS NOT NULL)`)
@Check(
  'CHK_artifacts_tombstone',
  `"state" <> 'purged' OR ("storage_key" IS NULL AND "file_name" IS NULL AND "sha256" IS NULL AND "source_ref" IS NULL AND "captured_by_id" IS NULL AND "attributes" = '{}'::jsonb AND "purged_at" IS NOT NULL)`,
)
@Check('CHK_artifacts_purge_reason', `"purge_reason" IS NULL OR "purge_reason" IN ('retention', 'consent_withdrawn', 'erasure', 'object_missing')`)
@Index('IDX_artifacts_retain_until', ['retainUntil'], { where: `"state" IN ('stored', 'purging')` })
@Index('IDX_artifacts_purge_now', ['purgeReason'], { where: `"state" = 'stored' AND "purge_reason" IS NOT NULL` })
@Index('IDX_artifacts_conversation', ['conversationId', 'capturedAt'])
@Index('IDX_artifacts_customer', ['customerId', 'capturedAt'])
@Index('IDX_artifacts_pending', ['capturedAt'], { where: `"state" = 'pending'` })
@Index('UQ_artifacts_source_ref', ['kind', 'purpose', 'sourceRef'], { unique: true, where: `"source_ref" IS NOT NULL` })
export class ArtifactEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  kind: ArtifactKind;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_artifacts_conversation' })
  conversation?: ConversationEntity;

  /** The data subject. */
  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_artifacts_customer' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  purpose: string;

  @ManyToOne(() => PurposeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'purpose', foreignKeyConstraintName: 'FK_artifacts_purpose' })
  purposeRow?: PurposeEntity;

  @Column({ name: 'legal_basis', type: 'text' })
  legalBasis: 'contract' | 'consent';

  @Column({ name: 'consent_event_id', type: 'uuid', nullable: true })
  consentEventId: string | null;

  @ManyToOne(() => ConsentEventEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'consent_event_id', foreignKeyConstraintName: 'FK_artifacts_consent_event' })
  consentEvent?: ConsentEventEntity;

  @Column({ name: 'retention_tag', type: 'text' })
  retentionTag: string;

  @Column({ name: 'retain_until', type: 'timestamptz' })
  retainUntil: Date;

  @Column({ type: 'text', default: 'pending' })
  state: ArtifactState;

  @Index('UQ_artifacts_storage_key', { unique: true, where: '"storage_key" IS NOT NULL' })
  @Column({ name: 'storage_key', type: 'text', nullable: true })
  storageKey: string | null;

  @Column({ type: 'bigint', nullable: true })
  size: string | null;

  /** While pending, the most bytes the upload may take from its customer's daily quota (CUSTOMER_UPLOAD_MB_PER_DAY). */
  @Column({ name: 'reserved_bytes', type: 'bigint', nullable: true })
  reservedBytes: string | null;

  @Column({ type: 'text', nullable: true })
  sha256: string | null;

  /** Detected from the bytes, never taken from the client. */
  @Column({ name: 'content_type', type: 'text', nullable: true })
  contentType: string | null;

  /** Sanitised; personal data (it may name the customer), gone in a tombstone. */
  @Column({ name: 'file_name', type: 'text', nullable: true })
  fileName: string | null;

  /**
   * What it is a capture of, when the sender may send it twice (a phone
   * system's retry, a transcript written again): `<call id>#<segment>`,
   * `<conversation id>#json`. Unique per kind and purpose: a capture happens once.
   */
  @Column({ name: 'source_ref', type: 'text', nullable: true })
  sourceRef: string | null;

  /** Kind-specific references without content: call id, segment number, format. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: Record<string, unknown>;

  @Column({ name: 'captured_by_kind', type: 'text' })
  capturedByKind: 'customer' | 'staff' | 'system' | 'telephony';

  @Column({ name: 'captured_by_id', type: 'uuid', nullable: true })
  capturedById: string | null;

  @Column({ name: 'captured_at', type: 'timestamptz' })
  capturedAt: Date;

  @Column({ name: 'stored_at', type: 'timestamptz', nullable: true })
  storedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** Set when its consent is withdrawn (R10.4) or its erasure granted: it goes at the next run, whatever retain_until says. */
  @Column({ name: 'purge_reason', type: 'text', nullable: true })
  purgeReason: 'retention' | 'consent_withdrawn' | 'erasure' | 'object_missing' | null;

  @Column({ name: 'purged_at', type: 'timestamptz', nullable: true })
  purgedAt: Date | null;

  @Column({ name: 'purge_run_id', type: 'uuid', nullable: true })
  purgeRunId: string | null;
}
