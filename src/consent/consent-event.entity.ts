import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationEntity } from '../conversations/conversation.entity';
import { CustomerEntity } from '../directory/customer.entity';
import { ConsentRequestEntity } from './consent-request.entity';
import { ConsentTextVersionEntity } from './consent-text-version.entity';
import { PurposeEntity } from './purpose.entity';

export const CONSENT_EVENT_TYPES = ['requested', 'granted', 'denied', 'withdrawn', 'expired'] as const;
export const DECISION_TYPES = ['granted', 'denied', 'withdrawn'] as const;
export const CONSENT_CHANNELS = ['chat', 'web', 'ivr'] as const;
export const ACTOR_KINDS = ['customer', 'staff', 'system'] as const;
export type ConsentEventType = (typeof CONSENT_EVENT_TYPES)[number];
export type DecisionType = (typeof DECISION_TYPES)[number];
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];
export type ActorKind = (typeof ACTOR_KINDS)[number];
export type ConsentScope = 'conversation' | 'standing';

/**
 * The consent ledger (design invariant 3): append-only, the database refuses
 * UPDATE, DELETE and TRUNCATE. Current consent is derived from it: the latest
 * decision wins. Checks keep R1.1 in the schema: only the customer grants,
 * and a grant or denial always names the text (and its hash) that was shown.
 */
@Entity('consent_events')
@Check('CHK_consent_events_type', `"type" IN ('requested', 'granted', 'denied', 'withdrawn', 'expired')`)
@Check('CHK_consent_events_scope', `"scope" IN ('conversation', 'standing') AND (("scope" = 'conversation') = ("conversation_id" IS NOT NULL))`)
@Check('CHK_consent_events_channel', `"channel" IN ('chat', 'web', 'ivr')`)
@Check('CHK_consent_events_actor_kind', `"actor_kind" IN ('customer', 'staff', 'system')`)
@Check('CHK_consent_events_decided_by_customer', `"type" NOT IN ('granted', 'denied', 'withdrawn') OR "actor_kind" = 'customer'`)
@Check('CHK_consent_events_text_shown', `"type" NOT IN ('requested', 'granted', 'denied') OR ("text_version_id" IS NOT NULL AND "text_sha256" IS NOT NULL)`)
// The gate's two probes (latest standing decision, latest in this conversation) are one index lookup each.
@Index('IDX_consent_events_decisions', ['customerId', 'purpose', 'conversationId', 'position'], { where: `"type" IN ('granted', 'denied', 'withdrawn')` })
@Index('IDX_consent_events_customer', ['customerId', 'position'])
@Index('IDX_consent_events_request', ['requestId'], { where: `"request_id" IS NOT NULL` })
export class ConsentEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Total order of the ledger: "latest" means highest position. */
  @Index('UQ_consent_events_position', { unique: true })
  @Column({ type: 'bigint', generated: 'identity', generatedIdentity: 'ALWAYS' })
  position: string;

  @Column({ type: 'text' })
  type: ConsentEventType;

  @Column({ name: 'customer_id', type: 'uuid' })
  customerId: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'FK_consent_events_customer' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  purpose: string;

  @ManyToOne(() => PurposeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'purpose', foreignKeyConstraintName: 'FK_consent_events_purpose' })
  purposeRow?: PurposeEntity;

  @Column({ type: 'text' })
  scope: ConsentScope;

  @Column({ name: 'conversation_id', type: 'uuid', nullable: true })
  conversationId: string | null;

  @ManyToOne(() => ConversationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_consent_events_conversation' })
  conversation?: ConversationEntity;

  @Column({ name: 'request_id', type: 'uuid', nullable: true })
  requestId: string | null;

  @ManyToOne(() => ConsentRequestEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'request_id', foreignKeyConstraintName: 'FK_consent_events_request' })
  request?: ConsentRequestEntity;

  @Column({ name: 'actor_kind', type: 'text' })
  actorKind: ActorKind;

  /** customers.id or staff_members.id by actor_kind; null for the system (expiry). */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ type: 'text' })
  channel: ConsentChannel;

  /** How the action was made: web: user-agent hash; ivr: digit and the provider's call id; chat: socket or REST. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  evidence: Record<string, unknown>;

  @Column({ type: 'text', nullable: true })
  locale: string | null;

  @Column({ name: 'text_version_id', type: 'uuid', nullable: true })
  textVersionId: string | null;

  @ManyToOne(() => ConsentTextVersionEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'text_version_id', foreignKeyConstraintName: 'FK_consent_events_text_version' })
  textVersion?: ConsentTextVersionEntity;

  @Column({ name: 'text_sha256', type: 'text', nullable: true })
  textSha256: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;
}
