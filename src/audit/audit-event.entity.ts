import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const AUDIT_ACTOR_KINDS = ['customer', 'staff', 'system', 'telephony'] as const;
export type AuditActorKind = (typeof AUDIT_ACTOR_KINDS)[number];
export const AUDIT_OUTCOMES = ['allowed', 'refused'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * The audit trail (R5.1): who read or changed what, for which purpose.
 * Append-only (the database refuses UPDATE, DELETE and TRUNCATE) and
 * hash-chained: each event's hash covers its content and the previous
 * event's hash, so changing or removing one breaks every link after it.
 */
@Entity('audit_events')
@Check('CHK_audit_events_actor_kind', `"actor_kind" IN ('customer', 'staff', 'system', 'telephony')`)
@Check('CHK_audit_events_outcome', `"outcome" IN ('allowed', 'refused')`)
@Check('CHK_audit_events_hash', `"hash" ~ '^[0-9a-f]{64}$' AND "prev_hash" ~ '^[0-9a-f]{64}$'`)
@Index('IDX_audit_events_target', ['targetType', 'targetId', 'seq'])
@Index('IDX_audit_events_actor', ['actorId', 'seq'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Position in the chain: 1, 2, 3 … without gaps. */
  @Index('UQ_audit_events_seq', { unique: true })
  @Column({ type: 'bigint' })
  seq: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ name: 'actor_kind', type: 'text' })
  actorKind: AuditActorKind;

  /** customers.id or staff_members.id; null for the system and the phone system. */
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  /** The role the actor acted in (agent, privacy_officer, admin, customer). */
  @Column({ name: 'actor_role', type: 'text', nullable: true })
  actorRole: string | null;

  /** What was done: artifact.capture, artifact.read, artifact.list, … */
  @Column({ type: 'text' })
  action: string;

  @Column({ name: 'target_type', type: 'text' })
  targetType: string;

  @Column({ name: 'target_id', type: 'text' })
  targetId: string;

  /** The purpose the action stated (R1.3). */
  @Column({ type: 'text', nullable: true })
  purpose: string | null;

  /** The reason a privacy officer gave to read content. */
  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'text' })
  outcome: AuditOutcome;

  /** Codes and counts only, never content. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  details: Record<string, unknown>;

  @Column({ name: 'prev_hash', type: 'text' })
  prevHash: string;

  @Column({ type: 'text' })
  hash: string;
}
