import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Event ids the phone system already delivered: a replay is accepted once and ignored after. */
@Entity('telephony_events')
export class TelephonyEventEntity {
  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId: string;

  @Column({ type: 'text' })
  type: string;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;
}
