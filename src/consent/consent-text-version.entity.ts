import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { CategoryLabel } from './consent-text';
import type { ReadabilityReport } from './readability';
import { PurposeEntity } from './purpose.entity';

/**
 * One published version of a purpose's consent text in one language (R1.2,
 * R8.1). Never changed once written: a new version supersedes it for new
 * requests from its effective date, and every ledger event keeps pointing at
 * the version (and hash) the customer saw.
 */
@Entity('consent_text_versions')
@Check('CHK_consent_text_versions_locale', `"locale" IN ('nl-NL', 'en')`)
@Check('CHK_consent_text_versions_version', `"version" > 0`)
@Check('CHK_consent_text_versions_sha256', `"sha256" ~ '^[0-9a-f]{64}$'`)
@Check('CHK_consent_text_versions_source', `"source" IN ('shipped', 'admin')`)
@Index('UQ_consent_text_versions_version', ['purpose', 'locale', 'version'], { unique: true })
@Index('IDX_consent_text_versions_current', ['purpose', 'locale', 'effectiveFrom'])
export class ConsentTextVersionEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  purpose: string;

  @ManyToOne(() => PurposeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'purpose', foreignKeyConstraintName: 'FK_consent_text_versions_purpose' })
  purposeRow?: PurposeEntity;

  @Column({ type: 'text' })
  locale: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom: Date;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'jsonb' })
  categories: CategoryLabel[];

  /** Exactly what the customer is shown; `sha256` is its hash. */
  @Column({ type: 'text' })
  text: string;

  @Column({ type: 'text' })
  sha256: string;

  @Column({ type: 'jsonb' })
  readability: ReadabilityReport;

  @Column({ type: 'text' })
  source: 'shipped' | 'admin';

  /** staff_members.id of the admin who published it; null for shipped texts. */
  @Column({ name: 'published_by', type: 'uuid', nullable: true })
  publishedBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
