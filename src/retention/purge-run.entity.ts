import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const PURGE_TRIGGERS = ['schedule', 'command', 'withdrawal'] as const;
export type PurgeTrigger = (typeof PURGE_TRIGGERS)[number];
export const PURGE_STATUSES = ['running', 'completed', 'partial', 'failed', 'skipped'] as const;
export type PurgeStatus = (typeof PURGE_STATUSES)[number];

export interface PurgeTotal {
  kind: string;
  purpose: string;
  tag: string;
  items: number;
  bytes: number;
}

export interface PurgeFailure {
  artifactId: string;
  reason: string;
}

/** One purge run (R10.2): when, where, what it purged (counts and bytes), what failed and why. */
@Entity('purge_runs')
@Check('CHK_purge_runs_trigger', `"trigger" IN ('schedule', 'command', 'withdrawal')`)
@Check('CHK_purge_runs_status', `"status" IN ('running', 'completed', 'partial', 'failed', 'skipped')`)
@Index('IDX_purge_runs_started', ['startedAt'])
export class PurgeRunEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Which process ran it (host and pid). */
  @Column({ type: 'text' })
  instance: string;

  @Column({ type: 'text' })
  trigger: PurgeTrigger;

  @Column({ name: 'dry_run', type: 'boolean' })
  dryRun: boolean;

  @Column({ type: 'text' })
  status: PurgeStatus;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'items_purged', type: 'integer', default: 0 })
  itemsPurged: number;

  @Column({ name: 'bytes_purged', type: 'bigint', default: 0 })
  bytesPurged: string;

  /** Per kind x purpose x tag. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  totals: PurgeTotal[];

  /** Items left as they were, and why. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  failures: PurgeFailure[];

  /** Items past their time but kept by a legal hold, at the time of the run. */
  @Column({ name: 'items_held', type: 'integer', default: 0 })
  itemsHeld: number;
}
