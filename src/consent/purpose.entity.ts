import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export const LEGAL_BASES = ['contract', 'consent'] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/**
 * A processing purpose (R1.3, R4.1): why data may be kept, on which legal
 * basis, and which retention tag its items get by default. Seeded by
 * migration; an admin adds and changes them (the legal basis never changes:
 * a different basis is a different purpose).
 */
@Entity('consent_purposes')
@Check('CHK_consent_purposes_code', `"code" ~ '^[a-z][a-z0-9_]{1,39}$'`)
@Check('CHK_consent_purposes_legal_basis', `"legal_basis" IN ('contract', 'consent')`)
@Check('CHK_consent_purposes_retention_tag', `"retention_tag" ~ '^[a-z][a-z0-9_]{1,39}$'`)
export class PurposeEntity {
  @PrimaryColumn({ type: 'text' })
  code: string;

  @Column({ name: 'legal_basis', type: 'text' })
  legalBasis: LegalBasis;

  @Column({ name: 'retention_tag', type: 'text' })
  retentionTag: string;

  /** What is collected under it, as codes; each text gives them a label in its language (R3.2). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  categories: string[];

  /** For staff: what the purpose covers, in a sentence. */
  @Column({ type: 'text' })
  description: string;

  /** An inactive purpose can no longer be asked for or granted; what was given stays in the ledger. */
  @Column({ type: 'boolean', default: true })
  active: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
