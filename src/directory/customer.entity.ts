import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * A data subject: someone who contacts support (R3.1). `subject` is the
 * identity provider's subject (source `token`), or `caller:<hash>` for a
 * caller the phone system reported (source `phone`). The two are separate
 * namespaces: no token's subject can ever name a caller's row.
 */
@Entity('customers')
@Index('UQ_customers_source_subject', ['subjectSource', 'subject'], { unique: true })
@Check('CHK_customers_subject_source', `"subject_source" IN ('token', 'phone')`)
@Check('CHK_customers_locale', `"locale" ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'`)
@Check('CHK_customers_country', `"country" ~ '^[A-Z]{2}$'`)
@Check('CHK_customers_client_locale', `length("client_locale") <= 200`)
export class CustomerEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  subject: string;

  @Column({ name: 'subject_source', type: 'text', default: 'token' })
  subjectSource: 'token' | 'phone';

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName: string | null;

  @Column({ type: 'text', nullable: true })
  email: string | null;

  /** Masked for display (+31 6 ****5678); the full number is never stored. */
  @Column({ name: 'phone_masked', type: 'text', nullable: true })
  phoneMasked: string | null;

  /** Keyed hash of the normalised number, to recognise a caller again without keeping the number. */
  @Index('UQ_customers_phone_hash', { unique: true, where: '"phone_hash" IS NOT NULL' })
  @Column({ name: 'phone_hash', type: 'text', nullable: true })
  phoneHash: string | null;

  /**
   * The language the customer chose (profile, or their app's setting in the
   * token). Null when they never said: then what their client sends counts,
   * and after that Dutch and the Netherlands (R2.1, R2.2).
   */
  @Column({ type: 'text', nullable: true })
  locale: string | null;

  @Column({ type: 'text', nullable: true })
  country: string | null;

  /** The Accept-Language their client last sent (handshake or request), for prompts sent to them. */
  @Column({ name: 'client_locale', type: 'text', nullable: true })
  clientLocale: string | null;

  /** `declared`: the app named its language (socket `auth.locale`); a browser's Accept-Language does not replace that. */
  @Column({ name: 'client_locale_declared', type: 'boolean', default: false })
  clientLocaleDeclared: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
