import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** An agent, privacy officer or admin, known by the identity provider's subject. */
@Entity('staff_members')
export class StaffMemberEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('UQ_staff_members_subject', { unique: true })
  @Column({ type: 'text' })
  subject: string;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName: string | null;

  /** Roles as last seen in a token; the token stays the authority. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles: string[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
