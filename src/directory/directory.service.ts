import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { LocaleHints } from '../i18n/locale';
import type { Principal, StaffRole } from '../identity/principal';

/** A principal as a row of ours: the id that conversations and messages point at. */
export type Participant =
  | { kind: 'customer'; id: string; subject: string }
  | { kind: 'staff'; id: string; subject: string; roles: StaffRole[] };

const CACHE_LIMIT = 10_000;

/**
 * Customers and staff as the service knows them. Rows are created the first
 * time a token's subject shows up; ids never change, so they are cached.
 */
@Injectable()
export class DirectoryService {
  private readonly ids = new Map<string, string>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async participantFor(principal: Principal): Promise<Participant> {
    const key = `${principal.kind}:${principal.subject}`;
    let id = this.ids.get(key);
    if (!id) {
      id = principal.kind === 'customer' ? await this.upsertCustomer(principal.subject, principal.locale) : await this.upsertStaff(principal.subject, principal.roles);
      if (this.ids.size >= CACHE_LIMIT) this.ids.clear();
      this.ids.set(key, id);
    }
    return principal.kind === 'customer'
      ? { kind: 'customer', id, subject: principal.subject }
      : { kind: 'staff', id, subject: principal.subject, roles: principal.roles };
  }

  /** The customer known by this phone-number hash, created (number masked) when new. */
  async customerForCaller(
    phoneHash: string,
    phoneMasked: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string> {
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO customers (subject_source, subject, phone_hash, phone_masked) VALUES ('phone', $1, $2, $3)
       ON CONFLICT (phone_hash) WHERE phone_hash IS NOT NULL DO UPDATE SET phone_masked = EXCLUDED.phone_masked
       RETURNING id`,
      [`caller:${phoneHash.slice(0, 32)}`, phoneHash, phoneMasked],
    );
    return rows[0].id;
  }

  /** The customer with this subject (from the phone system's lookup), created when new. */
  async customerForSubject(subject: string, manager: EntityManager = this.dataSource.manager): Promise<string> {
    return this.upsertCustomer(subject, undefined, manager);
  }

  async staffForSubject(subject: string, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO staff_members (subject) VALUES ($1)
       ON CONFLICT (subject) DO UPDATE SET subject = EXCLUDED.subject RETURNING id`,
      [subject],
    );
    return rows[0].id;
  }

  private async upsertCustomer(subject: string, locale: string | undefined, manager: EntityManager = this.dataSource.manager): Promise<string> {
    // R2.1: the app's language setting (token locale) is the profile's; without one it stays unset (R2.2 applies later).
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO customers (subject_source, subject, locale) VALUES ('token', $1, $2)
       ON CONFLICT (subject_source, subject) DO UPDATE SET locale = COALESCE($2, customers.locale)
       RETURNING id`,
      [subject, locale ? normaliseLocale(locale) : null],
    );
    return rows[0].id;
  }

  /** What is known about a customer's language and country, to resolve the locale of what they are shown. */
  async localeHints(customerId: string, db: EntityManager = this.dataSource.manager): Promise<LocaleHints> {
    const rows = await db.query<{ locale: string | null; country: string | null; client_locale: string | null }[]>(
      `SELECT locale, country, client_locale FROM customers WHERE id = $1`,
      [customerId],
    );
    const row = rows[0];
    return { profile: row?.locale, country: row?.country, client: row?.client_locale };
  }

  /**
   * Remembers the language a customer's client sent (socket handshake or
   * request), so prompts an agent sends them later and their privacy page are
   * in that language when their profile names none (R2.1). Written only when it changed.
   */
  async noteClientLocale(customerId: string, acceptLanguage: string | undefined, options: { declared?: boolean } = {}): Promise<void> {
    const value = acceptLanguage?.trim();
    // Language tags, q-values and separators only: anything else is not a language and is not kept.
    if (!value || value.length > 200 || !/^[A-Za-z0-9*,;=. -]+$/.test(value)) return;
    const declared = options.declared === true;
    // Not cached here: another instance may have written another value since. A language the app
    // declared is the customer's choice; a browser's Accept-Language only fills in when none was declared.
    await this.dataSource.query(
      `UPDATE customers SET client_locale = $2, client_locale_declared = $3
        WHERE id = $1 AND (client_locale IS DISTINCT FROM $2 OR client_locale_declared <> $3) AND ($3 OR NOT client_locale_declared)`,
      [customerId, value, declared],
    );
  }

  /** The customer's own choice of language and country (their profile). */
  async setProfileLocale(customerId: string, change: { locale?: string | null; country?: string | null }): Promise<LocaleHints> {
    // Only what is given changes; null clears it.
    await this.dataSource.query(
      `UPDATE customers SET locale = CASE WHEN $2 THEN $3 ELSE locale END, country = CASE WHEN $4 THEN $5 ELSE country END WHERE id = $1`,
      [
        customerId,
        change.locale !== undefined,
        change.locale ? normaliseLocale(change.locale) : null,
        change.country !== undefined,
        change.country ? change.country.toUpperCase() : null,
      ],
    );
    return this.localeHints(customerId);
  }

  private async upsertStaff(subject: string, roles: StaffRole[]): Promise<string> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      `INSERT INTO staff_members (subject, roles) VALUES ($1, $2)
       ON CONFLICT (subject) DO UPDATE SET roles = EXCLUDED.roles
       RETURNING id`,
      [subject, roles],
    );
    return rows[0].id;
  }
}

/** `EN-gb` -> `en-GB`: the form the customers table accepts. */
export function normaliseLocale(locale: string): string {
  const [language, ...rest] = locale.split('-');
  return [language.toLowerCase(), ...rest.map((p) => (p.length === 2 ? p.toUpperCase() : p))].join('-');
}
