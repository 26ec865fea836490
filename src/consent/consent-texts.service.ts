import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { ADVISORY_LOCKS } from '../database/advisory-locks';
import { DomainException } from '../errors/domain.exception';
import { TEXT_LOCALES, type TextLocale } from '../i18n/locale';
import { RuntimeOptions } from '../runtime-options';
import { renderConsentText, type RetentionTerm } from './consent-text';
import type { PurposeRow, TextVersionRow } from './consent.views';
import { SHIPPED_TEXTS, type TextTemplate } from './texts/shipped-texts';

/** A text version published by the service itself. */
export interface PublishedText {
  purpose: string;
  locale: TextLocale;
  version: number;
  /** The version it took over from, and who had written that one. */
  replaces: { version: number; source: string } | null;
}

export interface PublishText extends TextTemplate {
  locale: TextLocale;
  /** From when it replaces the current version for new requests; now when absent. */
  effectiveFrom?: Date;
}

/**
 * Versioned consent texts per purpose and language (R1.2, R2.3, R8.1). A
 * version is never changed; publishing adds the next one. A text that fails
 * the readability check or leaves out what it must name cannot be published.
 */
@Injectable()
export class ConsentTextsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ConsentTextsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly runtime: RuntimeOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.runtime.startupTasks) await this.publishShipped();
  }

  /**
   * Publishes the shipped texts whose exact wording (with this deployment's
   * privacy contact and the retention policies filled in) is not the current
   * one: over an earlier shipped version always; over an admin's text only
   * when that wording was never published (new shipped wording, a changed
   * contact or policy). Runs at start-up on every instance (an advisory lock
   * lets one at a time do it), and when a retention policy or a purpose's
   * tag changes, in that change's transaction.
   */
  async publishShipped(): Promise<PublishedText[]> {
    const published = await this.dataSource.transaction((manager) => this.publishShippedIn(manager));
    if (published.length > 0) this.logger.log(`published ${published.length} shipped consent text version(s)`);
    return published;
  }

  /** `only`: the purposes (by code) or retention tags to look at; all when absent. */
  async publishShippedIn(manager: EntityManager, only: { purposes?: string[]; tags?: string[] } = {}): Promise<PublishedText[]> {
    await manager.query(`SELECT pg_advisory_xact_lock($1)`, [ADVISORY_LOCKS.consentTexts]);
    const published: PublishedText[] = [];
    const purposes = await manager.query<Array<PurposeRow & { duration: string | null; starts: RetentionTerm['starts'] | null }>>(
      `SELECT p.*, r.duration, r.starts FROM consent_purposes p LEFT JOIN retention_policies r ON r.tag = p.retention_tag
        WHERE ($1::text[] IS NULL OR p.code = ANY($1)) AND ($2::text[] IS NULL OR p.retention_tag = ANY($2))
        ORDER BY p.code FOR UPDATE OF p`,
      [only.purposes ?? null, only.tags ?? null],
    );
    const now = this.clock.now();
    for (const purpose of purposes) {
      const templates = SHIPPED_TEXTS[purpose.code];
      if (!templates) continue;
      const retention = purpose.duration && purpose.starts ? { duration: purpose.duration, starts: purpose.starts } : undefined;
      for (const locale of TEXT_LOCALES) {
        const rendered = renderConsentText(templates[locale], { locale, privacyContact: this.config.privacy.contactEmail, categoryCodes: purpose.categories, retention });
        if (rendered.problems.some((p) => p.startsWith('category ') || p.startsWith('{retention}'))) {
          // An admin changed the purpose's categories or tag: their texts take over, the service still starts.
          this.logger.warn(`shipped ${purpose.code} text (${locale}) not published: ${rendered.problems.join('; ')}`);
          continue;
        }
        if (rendered.problems.length > 0) {
          throw new Error(`shipped ${purpose.code} text (${locale}) cannot be published: ${rendered.problems.join('; ')}`);
        }
        const current = await this.current(purpose.code, locale, now, manager);
        if (current?.sha256 === rendered.sha256) continue;
        if (current && current.source !== 'shipped') {
          const known = await manager.query<unknown[]>(`SELECT 1 FROM consent_text_versions WHERE purpose = $1 AND locale = $2 AND sha256 = $3`, [
            purpose.code,
            locale,
            rendered.sha256,
          ]);
          if (known.length > 0) continue;
        }
        const row = await this.insertVersion(manager, purpose.code, locale, rendered, now, 'shipped', null);
        published.push({ purpose: row.purpose, locale, version: row.version, replaces: current ? { version: current.version, source: current.source } : null });
      }
    }
    return published;
  }

  /** An admin publishes a new version; refused with the reasons when it is not plain language or incomplete. */
  async publish(purposeCode: string, input: PublishText, publishedBy: string): Promise<TextVersionRow> {
    return this.dataSource.transaction(async (manager) => {
      const [purpose] = await manager.query<PurposeRow[]>(`SELECT * FROM consent_purposes WHERE code = $1 FOR UPDATE`, [purposeCode]);
      if (!purpose) throw new DomainException('PURPOSE_NOT_FOUND', `There is no purpose "${purposeCode}"`);
      const [policy] = await manager.query<RetentionTerm[]>(`SELECT duration, starts FROM retention_policies WHERE tag = $1`, [purpose.retention_tag]);
      const rendered = renderConsentText(input, { locale: input.locale, privacyContact: this.config.privacy.contactEmail, categoryCodes: purpose.categories, retention: policy });
      if (rendered.problems.length > 0) {
        throw new DomainException('TEXT_NOT_READABLE', 'This text cannot be published: it is not plain enough or leaves out what it must say', rendered.problems);
      }
      const now = this.clock.now();
      const effectiveFrom = input.effectiveFrom && input.effectiveFrom > now ? input.effectiveFrom : now;
      return this.insertVersion(manager, purpose.code, input.locale, rendered, effectiveFrom, 'admin', publishedBy);
    });
  }

  /** The version that applies to new requests at `at`. */
  /** `db`: the caller's transaction, when it has one (never a second pool connection from inside a transaction). */
  async current(purpose: string, locale: TextLocale, at: Date = this.clock.now(), db: EntityManager = this.dataSource.manager): Promise<TextVersionRow | undefined> {
    const rows = await db.query<TextVersionRow[]>(
      `SELECT * FROM consent_text_versions WHERE purpose = $1 AND locale = $2 AND effective_from <= $3
        ORDER BY effective_from DESC, version DESC LIMIT 1`,
      [purpose, locale, at],
    );
    return rows[0];
  }

  async require(purpose: string, locale: TextLocale): Promise<TextVersionRow> {
    const text = await this.current(purpose, locale);
    if (!text) throw new DomainException('CONSENT_TEXT_NOT_FOUND', `No ${locale} text is published for "${purpose}"`);
    return text;
  }

  async byId(id: string, db: EntityManager = this.dataSource.manager): Promise<TextVersionRow | undefined> {
    const rows = await db.query<TextVersionRow[]>(`SELECT * FROM consent_text_versions WHERE id = $1`, [id]);
    return rows[0];
  }

  /** The current version (in any language) whose hash this is: what a standing choice must have been shown. */
  async currentWithHash(purpose: string, sha256: string, db: EntityManager = this.dataSource.manager): Promise<TextVersionRow | undefined> {
    for (const locale of TEXT_LOCALES) {
      const text = await this.current(purpose, locale, this.clock.now(), db);
      if (text?.sha256 === sha256) return text;
    }
    return undefined;
  }

  async versions(purpose: string): Promise<TextVersionRow[]> {
    return this.dataSource.query<TextVersionRow[]>(`SELECT * FROM consent_text_versions WHERE purpose = $1 ORDER BY locale, version DESC`, [purpose]);
  }

  private async insertVersion(
    manager: EntityManager,
    purpose: string,
    locale: TextLocale,
    rendered: ReturnType<typeof renderConsentText>,
    effectiveFrom: Date,
    source: 'shipped' | 'admin',
    publishedBy: string | null,
  ): Promise<TextVersionRow> {
    const rows = await manager.query<TextVersionRow[]>(
      `INSERT INTO consent_text_versions (purpose, locale, version, effective_from, title, categories, text, sha256, readability, source, published_by)
       SELECT $1, $2, COALESCE(max(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10
         FROM consent_text_versions WHERE purpose = $1 AND locale = $2
       RETURNING *`,
      [purpose, locale, effectiveFrom, rendered.title, JSON.stringify(rendered.categories), rendered.text, rendered.sha256, JSON.stringify(rendered.readability), source, publishedBy],
    );
    return rows[0];
  }
}
