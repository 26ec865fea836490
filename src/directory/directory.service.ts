import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
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
      `INSERT INTO customers (subject, phone_hash, phone_masked) VALUES ($1, $2, $3)
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
    // R2.1: the app's language setting (token locale) wins; R2.2: otherwise the nl-NL default stays.
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO customers (subject, locale) VALUES ($1, COALESCE($2, 'nl-NL'))
       ON CONFLICT (subject) DO UPDATE SET locale = COALESCE($2, customers.locale)
       RETURNING id`,
      [subject, locale ? normaliseLocale(locale) : null],
    );
    return rows[0].id;
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
