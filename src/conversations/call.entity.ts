import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConversationEntity } from './conversation.entity';

export const CALL_DIRECTIONS = ['inbound', 'outbound'] as const;
export const RECORDING_STATES = ['none', 'recording', 'stopped'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];
export type RecordingState = (typeof RECORDING_STATES)[number];

/** Metadata of one phone call (R3.3); the caller's number is kept masked only. */
@Entity('calls')
@Check('CHK_calls_direction', `"direction" IN ('inbound', 'outbound')`)
@Check('CHK_calls_recording_state', `"recording_state" IN ('none', 'recording', 'stopped')`)
@Check('CHK_calls_duration', `"duration_seconds" IS NULL OR "duration_seconds" >= 0`)
@Index('IDX_calls_conversation', ['conversationId'])
export class CallEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId: string;

  @ManyToOne(() => ConversationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversation_id', foreignKeyConstraintName: 'FK_calls_conversation' })
  conversation?: ConversationEntity;

  @Index('UQ_calls_provider_call_id', { unique: true })
  @Column({ name: 'provider_call_id', type: 'text' })
  providerCallId: string;

  @Column({ type: 'text' })
  direction: CallDirection;

  @Column({ name: 'caller_number_masked', type: 'text', nullable: true })
  callerNumberMasked: string | null;

  @Column({ type: 'text', nullable: true })
  queue: string | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'answered_at', type: 'timestamptz', nullable: true })
  answeredAt: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;

  @Column({ name: 'duration_seconds', type: 'integer', nullable: true })
  durationSeconds: number | null;

  @Column({ name: 'recording_state', type: 'text', default: 'none' })
  recordingState: RecordingState;

  /** When the purge erased what identifies the caller (call_metadata tag, R10.1): number, queue, the phone system's id. */
  @Column({ name: 'erased_at', type: 'timestamptz', nullable: true })
  erasedAt: Date | null;
}
