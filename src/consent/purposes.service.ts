import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { ADVISORY_LOCKS } from '../database/advisory-locks';
import { DomainException } from '../errors/domain.exception';
import { ConsentCacheService } from './consent-cache.service';
import { ConsentTextsService } from './consent-texts.service';
import type { LegalBasis } from './purpose.entity';
import { toPurposeView, type PurposeRow, type PurposeView } from './consent.views';

export interface NewPurpose {
  code: string;
  legalBasis: LegalBasis;
  retentionTag: string;
  categories: string[];
  description: string;
}

export type PurposeChange = Partial<Pick<NewPurpose, 'retentionTag' | 'categories' | 'description'>> & { active?: boolean };

/** The catalogue of purposes (R1.3, R4.1): read by everyone, changed by an admin. */
@Injectable()
export class PurposesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: ConsentCacheService,
    private readonly texts: ConsentTextsService,
  ) {}

  async list(): Promise<PurposeView[]> {
    const rows = await this.dataSource.query<PurposeRow[]>(`SELECT * FROM consent_purposes ORDER BY legal_basis DESC, code`);
    return rows.map(toPurposeView);
  }

  async get(code: string): Promise<PurposeRow> {
    const rows = await this.dataSource.query<PurposeRow[]>(`SELECT * FROM consent_purposes WHERE code = $1`, [code]);
    if (!rows[0]) throw new DomainException('PURPOSE_NOT_FOUND', `There is no purpose "${code}"`);
    return rows[0];
  }

  async create(input: NewPurpose): Promise<PurposeView> {
    const rows = await this.dataSource.query<PurposeRow[]>(
      `INSERT INTO consent_purposes (code, legal_basis, retention_tag, categories, description)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING RETURNING *`,
      [input.code, input.legalBasis, input.retentionTag, unique(input.categories), input.description],
    );
    if (!rows[0]) throw new DomainException('PURPOSE_EXISTS', `The purpose "${input.code}" exists already`);
    this.cache.invalidate('*');
    return toPurposeView(rows[0]);
  }

  /**
   * The legal basis is not changeable: grants given for a consent purpose must
   * not silently become contract processing, nor the other way round.
   */
  async update(code: string, change: PurposeChange): Promise<PurposeView> {
    await this.get(code);
    const row = await this.dataSource.transaction(async (manager) => {
      // The texts' lock before the purpose row, in the order a policy change and start-up publishing take them.
      if (change.retentionTag) await manager.query(`SELECT pg_advisory_xact_lock($1)`, [ADVISORY_LOCKS.consentTexts]);
      const [rows] = await manager.query<[PurposeRow[], number]>(
        `UPDATE consent_purposes SET
           retention_tag = COALESCE($2, retention_tag),
           categories = COALESCE($3, categories),
           description = COALESCE($4, description),
           active = COALESCE($5, active),
           updated_at = now()
         WHERE code = $1 RETURNING *`,
        [code, change.retentionTag ?? null, change.categories ? unique(change.categories) : null, change.description ?? null, change.active ?? null],
      );
      // Another tag, another period: the shipped texts say it in words (R10.1).
      if (change.retentionTag) await this.texts.publishShippedIn(manager, { purposes: [code] });
      return rows[0];
    });
    this.cache.invalidate('*');
    return toPurposeView(row);
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
