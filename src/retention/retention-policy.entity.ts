import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const RETENTION_CLOCKS = ['captured', 'conversation_closed'] as const;
export type RetentionClock = (typeof RETENTION_CLOCKS)[number];

/**
 * How long items with a retention tag are kept (R10.1): an ISO-8601 duration
 * counted from capture or from the conversation's close. Seeded with
 * defaults; the retention issue adds changing them (audited, with a preview).
 */
@Entity('retention_policies')
@Check('CHK_retention_policies_tag', `"tag" ~ '^[a-z][a-z0-9_]{1,39}$'`)
@Check('CHK_retention_policies_duration', `"duration" ~ '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?$'`)
@Check('CHK_retention_policies_starts', `"starts" IN ('captured', 'conversation_closed')`)
export class RetentionPolicyEntity {
  @PrimaryColumn({ type: 'text' })
  tag: string;

  /** ISO 8601, whole days, weeks, months or years: P30D, P12M. */
  @Column({ type: 'text' })
  duration: string;

  @Column({ type: 'text' })
  starts: RetentionClock;

  /** What it covers: artifact kinds (and `chat_message` for message bodies) ... */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  kinds: string[];

  /** ... and the purposes whose items default to this tag. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  purposes: string[];

  @Column({ type: 'text' })
  description: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
