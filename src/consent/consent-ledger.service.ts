import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { ActorKind, ConsentChannel, ConsentEventType } from './consent-event.entity';
import type { EventRow } from './consent.views';
import { lockUntilCommit } from '../database/advisory-locks';

export interface NewConsentEvent {
  type: ConsentEventType;
  customerId: string;
  purpose: string;
  /** Null: a standing choice (R1.4); otherwise the conversation it holds for. */
  conversationId: string | null;
  requestId?: string | null;
  /** `role`: the staff member's role, for the audit trail (the ledger keeps kind and id). */
  actor: { kind: ActorKind; id: string | null; role?: string | null };
  channel: ConsentChannel;
  evidence?: Record<string, unknown>;
  locale?: string | null;
  text?: { versionId: string; sha256: string } | null;
  occurredAt: Date;
}

/**
 * The consent ledger (design invariant 3). Events are only ever appended (the
 * database refuses anything else); what holds now is derived from them.
 */
@Injectable()
export class ConsentLedgerService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async append(manager: EntityManager, e: NewConsentEvent): Promise<EventRow> {
    if (e.type === 'granted' || e.type === 'denied' || e.type === 'withdrawn') {
      // "Latest" is the highest position; positions are drawn at insert. Deciding one customer's
      // purpose one transaction at a time makes the later position also the later commit.
      await lockUntilCommit(manager, `consent-decision:${e.customerId}:${e.purpose}`);
    }
    const rows = await manager.query<EventRow[]>(
      `INSERT INTO consent_events
         (type, customer_id, purpose, scope, conversation_id, request_id, actor_kind, actor_id, channel, evidence, locale, text_version_id, text_sha256, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       RETURNING *`,
      [
        e.type,
        e.customerId,
        e.purpose,
        e.conversationId ? 'conversation' : 'standing',
        e.conversationId,
        e.requestId ?? null,
        e.actor.kind,
        e.actor.id,
        e.channel,
        JSON.stringify(e.evidence ?? {}),
        e.locale ?? null,
        e.text?.versionId ?? null,
        e.text?.sha256 ?? null,
        e.occurredAt,
      ],
    );
    // R5.1: every consent event is in the audit trail too, committed with it.
    await this.audit.record(
      {
        actor: { kind: e.actor.kind, id: e.actor.id, role: e.actor.kind === 'customer' ? 'customer' : (e.actor.role ?? null) },
        action: `consent.${e.type}`,
        target: { type: 'consent_event', id: rows[0].id },
        purpose: e.purpose,
        outcome: 'allowed',
        details: { scope: e.conversationId ? 'conversation' : 'standing', channel: e.channel, ...(e.conversationId ? { conversationId: e.conversationId } : {}) },
      },
      manager,
    );
    return rows[0];
  }

  /** Everything a customer ever decided or was asked, oldest first (R1.4). */
  async history(customerId: string, options: { purpose?: string; afterPosition?: number; limit: number }): Promise<EventRow[]> {
    return this.dataSource.query<EventRow[]>(
      `SELECT * FROM consent_events
        WHERE customer_id = $1 AND ($2::text IS NULL OR purpose = $2) AND position > $3
        ORDER BY position LIMIT $4`,
      [customerId, options.purpose ?? null, options.afterPosition ?? 0, options.limit],
    );
  }

  /** The latest standing decision per purpose (granted, denied or withdrawn). */
  async standingDecisions(customerId: string): Promise<Map<string, EventRow>> {
    const rows = await this.dataSource.query<EventRow[]>(
      `SELECT DISTINCT ON (purpose) * FROM consent_events
        WHERE customer_id = $1 AND scope = 'standing' AND type IN ('granted', 'denied', 'withdrawn')
        ORDER BY purpose, position DESC`,
      [customerId],
    );
    return new Map(rows.map((r) => [r.purpose, r]));
  }

  /** Grants that hold in single conversations right now (not overtaken by a later decision for that conversation or a standing one). */
  async activeConversationGrants(customerId: string): Promise<EventRow[]> {
    return this.dataSource.query<EventRow[]>(
      `SELECT g.* FROM (
         SELECT DISTINCT ON (purpose, conversation_id) * FROM consent_events
          WHERE customer_id = $1 AND scope = 'conversation' AND type IN ('granted', 'denied', 'withdrawn')
          ORDER BY purpose, conversation_id, position DESC) g
        WHERE g.type = 'granted'
          AND NOT EXISTS (SELECT 1 FROM consent_events s
                           WHERE s.customer_id = g.customer_id AND s.purpose = g.purpose AND s.scope = 'standing'
                             AND s.type IN ('denied', 'withdrawn') AND s.position > g.position)
        ORDER BY g.position`,
      [customerId],
    );
  }
}
