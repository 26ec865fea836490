import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { DomainException } from '../errors/domain.exception';
import { ConsentCacheService } from './consent-cache.service';
import type { LegalBasis } from './purpose.entity';
import { toEventView, type ConsentEventView, type EventRow } from './consent.views';

/** Where a capture happens: in one conversation, or outside any (standing choices only). */
export type ConsentScopeRef = { conversationId: string } | 'standing';

export type ConsentBasis =
  | { legalBasis: 'contract'; purpose: string; retentionTag: string; event: null }
  | { legalBasis: 'consent'; purpose: string; retentionTag: string; event: ConsentEventView };

export type ConsentCheck =
  | { allowed: true; reason: 'contract' | 'granted'; basis: ConsentBasis }
  | { allowed: false; reason: 'not_asked' | 'denied' | 'withdrawn' | 'purpose_inactive' | 'unknown_purpose'; decision: ConsentEventView | null };

type GateRow = { legal_basis: LegalBasis; retention_tag: string; active: boolean } & (EventRow | { [K in keyof EventRow]: null });

const GATE_SQL = `
  SELECT p.legal_basis, p.retention_tag, p.active, d.*
    FROM consent_purposes p
    LEFT JOIN LATERAL (
      SELECT x.* FROM (
        (SELECT * FROM consent_events e
          WHERE e.customer_id = $1 AND e.purpose = p.code AND e.conversation_id IS NULL
            AND e.type IN ('granted', 'denied', 'withdrawn')
          ORDER BY e.position DESC LIMIT 1)
        UNION ALL
        (SELECT * FROM consent_events e
          WHERE e.customer_id = $1 AND e.purpose = p.code AND e.conversation_id = $3::uuid
            AND e.type IN ('granted', 'denied', 'withdrawn')
          ORDER BY e.position DESC LIMIT 1)
      ) x
      WHERE p.legal_basis = 'consent'
      ORDER BY x.position DESC LIMIT 1) d ON true
   WHERE p.code = $2`;

/**
 * The one question capture code asks (design invariant 1): may this be
 * captured for this customer, purpose and scope? For a consent purpose the
 * answer is the customer's latest decision that applies (a standing one, or
 * one for this conversation, whichever came last); no decision is no consent
 * (R1.1). Answers come from the committed ledger, kept in memory only as
 * ConsentCacheService allows: a decision committed on this instance counts
 * for its very next check, one committed elsewhere as soon as its
 * notification arrives (at commit, normally well under a millisecond).
 */
@Injectable()
export class ConsentGate {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: ConsentCacheService,
  ) {}

  /** TypeORM's own pg pool: the gate sits on every capture's path, so it skips the query-runner layer. */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /** The basis to store with what is captured; throws CONSENT_REQUIRED (403, naming the purpose) when there is none. */
  async require(customerId: string, purpose: string, scope: ConsentScopeRef): Promise<ConsentBasis> {
    const check = await this.check(customerId, purpose, scope);
    if (check.allowed) return check.basis;
    throw refusalOf(check, purpose);
  }

  async check(customerId: string, purpose: string, scope: ConsentScopeRef): Promise<ConsentCheck> {
    const conversationId = scope === 'standing' ? null : scope.conversationId;
    const key = `${customerId}|${purpose}|${conversationId ?? ''}`;
    const cached = this.cache.get<ConsentCheck>(key);
    if (cached) return cached;
    const epoch = this.cache.currentEpoch();
    const check = deepFreeze(await this.read(customerId, purpose, conversationId));
    this.cache.set(key, customerId, check, epoch);
    return check;
  }

  /** The answer from the ledger itself (what check() keeps while the cache may). */
  async read(customerId: string, purpose: string, conversationId: string | null): Promise<ConsentCheck> {
    // One round trip, a statement prepared once per connection: the purpose's basis and,
    // for consent, the later of two index probes (latest standing decision, latest in this conversation).
    const { rows } = await this.pool().query<GateRow>({ name: 'consent_gate_v1', text: GATE_SQL, values: [customerId, purpose, conversationId] });
    const row = rows[0];
    if (!row) return { allowed: false, reason: 'unknown_purpose', decision: null };
    if (!row.active) return { allowed: false, reason: 'purpose_inactive', decision: null };
    if (row.legal_basis === 'contract') {
      return { allowed: true, reason: 'contract', basis: { legalBasis: 'contract', purpose, retentionTag: row.retention_tag, event: null } };
    }
    if (row.id === null) return { allowed: false, reason: 'not_asked', decision: null };
    const decision = toEventView(row);
    if (decision.type === 'granted') {
      return { allowed: true, reason: 'granted', basis: { legalBasis: 'consent', purpose, retentionTag: row.retention_tag, event: decision } };
    }
    return { allowed: false, reason: decision.type === 'denied' ? 'denied' : 'withdrawn', decision };
  }
}

/** Answers are shared between callers once cached: nobody may change one. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The one answer to "no basis" (cached check and fresh ledger read alike): which code says why. */
export function refusalOf(check: Extract<ConsentCheck, { allowed: false }>, purpose: string): DomainException {
  if (check.reason === 'unknown_purpose') return new DomainException('PURPOSE_NOT_FOUND', `There is no purpose "${purpose}"`);
  if (check.reason === 'purpose_inactive') return new DomainException('PURPOSE_INACTIVE', `The purpose "${purpose}" is no longer in use`);
  return new DomainException('CONSENT_REQUIRED', `The customer has not given consent for "${purpose}" (${check.reason.replace('_', ' ')})`);
}
