import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { auditActor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import type { HoldScope } from './legal-hold.entity';

interface HoldRow {
  id: string;
  scope: HoldScope;
  customer_id: string | null;
  conversation_id: string | null;
  artifact_id: string | null;
  reason: string;
  placed_by: string;
  placed_at: Date;
  ends_at: Date | null;
  released_by: string | null;
  released_at: Date | null;
  release_reason: string | null;
}

export interface LegalHoldView {
  id: string;
  scope: HoldScope;
  targetId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  endsAt: string | null;
  releasedBy: string | null;
  releasedAt: string | null;
  releaseReason: string | null;
  active: boolean;
}

export interface HoldCoverage {
  hold: LegalHoldView;
  /** What it keeps from being purged now: counts per kind and purpose, and the first items. */
  totals: Array<{ kind: string; purpose: string; items: number; bytes: number }>;
  items: Array<{ id: string; kind: string; purpose: string; state: string; retainUntil: string }>;
}

/**
 * The SQL condition "this artifact (alias `a`) is under an active hold at $n",
 * for the purge and for reports: one definition of what a hold covers.
 */
export function heldCondition(alias: string, nowParam: string): string {
  return `EXISTS (SELECT 1 FROM legal_holds h
    WHERE h.released_at IS NULL AND (h.ends_at IS NULL OR h.ends_at > ${nowParam})
      AND ((h.scope = 'artifact' AND h.artifact_id = ${alias}.id)
        OR (h.scope = 'conversation' AND h.conversation_id = ${alias}.conversation_id)
        OR (h.scope = 'subject' AND h.customer_id = ${alias}.customer_id)))`;
}

/** The same for a conversation (alias `c`): a hold on it, or on its customer. */
export function conversationHeldCondition(alias: string, nowParam: string): string {
  return `EXISTS (SELECT 1 FROM legal_holds h
    WHERE h.released_at IS NULL AND (h.ends_at IS NULL OR h.ends_at > ${nowParam})
      AND ((h.scope = 'conversation' AND h.conversation_id = ${alias}.id)
        OR (h.scope = 'subject' AND h.customer_id = ${alias}.customer_id)))`;
}

/** Legal holds (R10.3): placed and released by privacy officers, audited. */
@Injectable()
export class LegalHoldsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async place(officer: Participant, input: { scope: HoldScope; targetId: string; reason: string; endsAt?: Date }): Promise<LegalHoldView> {
    const now = this.clock.now();
    if (input.endsAt && input.endsAt <= now) throw new DomainException('VALIDATION_FAILED', 'endsAt must be in the future');
    await this.requireTarget(input.scope, input.targetId);
    const row = await this.dataSource.transaction(async (manager) => {
      const [inserted] = await manager.query<HoldRow[]>(
        `INSERT INTO legal_holds (scope, customer_id, conversation_id, artifact_id, reason, placed_by, placed_at, ends_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          input.scope,
          input.scope === 'subject' ? input.targetId : null,
          input.scope === 'conversation' ? input.targetId : null,
          input.scope === 'artifact' ? input.targetId : null,
          input.reason.trim(),
          officer.id,
          now,
          input.endsAt ?? null,
        ],
      );
      await this.audit.record(
        {
          actor: auditActor(officer),
          action: 'legal_hold.place',
          target: { type: 'legal_hold', id: inserted.id },
          reason: inserted.reason,
          outcome: 'allowed',
          details: { scope: input.scope, targetId: input.targetId, endsAt: input.endsAt?.toISOString() ?? null },
        },
        manager,
      );
      return inserted;
    });
    return this.view(row);
  }

  async release(officer: Participant, id: string, reason: string): Promise<LegalHoldView> {
    const now = this.clock.now();
    const row = await this.dataSource.transaction(async (manager) => {
      const [current] = await manager.query<HoldRow[]>(`SELECT * FROM legal_holds WHERE id = $1 FOR UPDATE`, [id]);
      if (!current) throw new DomainException('NOT_FOUND', 'No such legal hold');
      if (current.released_at) throw new DomainException('CONFLICT', 'This hold was released already');
      const [[released]] = await manager.query<[HoldRow[], number]>(
        `UPDATE legal_holds SET released_by = $2, released_at = $3, release_reason = $4 WHERE id = $1 RETURNING *`,
        [id, officer.id, now, reason.trim()],
      );
      await this.audit.record(
        { actor: auditActor(officer), action: 'legal_hold.release', target: { type: 'legal_hold', id }, reason: reason.trim(), outcome: 'allowed', details: { scope: current.scope } },
        manager,
      );
      return released;
    });
    return this.view(row);
  }

  async list(filter: { active?: boolean; limit: number }): Promise<LegalHoldView[]> {
    const now = this.clock.now();
    const rows = await this.dataSource.query<HoldRow[]>(
      `SELECT * FROM legal_holds
        WHERE $1::boolean IS NULL OR ($1 = (released_at IS NULL AND (ends_at IS NULL OR ends_at > $2)))
        ORDER BY placed_at DESC, id LIMIT $3`,
      [filter.active ?? null, now, filter.limit],
    );
    return rows.map((r) => this.view(r));
  }

  /** R10.3: the officer sees what each hold covers. */
  async coverage(id: string, limit = 100): Promise<HoldCoverage> {
    const [row] = await this.dataSource.query<HoldRow[]>(`SELECT * FROM legal_holds WHERE id = $1`, [id]);
    if (!row) throw new DomainException('NOT_FOUND', 'No such legal hold');
    const covers = `((h.scope = 'artifact' AND h.artifact_id = a.id) OR (h.scope = 'conversation' AND h.conversation_id = a.conversation_id)
                     OR (h.scope = 'subject' AND h.customer_id = a.customer_id))`;
    const totals = await this.dataSource.query<Array<{ kind: string; purpose: string; items: string; bytes: string }>>(
      `SELECT a.kind, a.purpose, count(*) AS items, COALESCE(sum(a.size), 0) AS bytes
         FROM artifacts a, legal_holds h WHERE h.id = $1 AND ${covers} AND a.state IN ('pending', 'stored', 'purging')
        GROUP BY a.kind, a.purpose ORDER BY a.kind, a.purpose`,
      [id],
    );
    const items = await this.dataSource.query<Array<{ id: string; kind: string; purpose: string; state: string; retain_until: Date }>>(
      `SELECT a.id, a.kind, a.purpose, a.state, a.retain_until FROM artifacts a, legal_holds h
        WHERE h.id = $1 AND ${covers} AND a.state IN ('pending', 'stored', 'purging') ORDER BY a.retain_until, a.id LIMIT $2`,
      [id, limit],
    );
    return {
      hold: this.view(row),
      totals: totals.map((t) => ({ kind: t.kind, purpose: t.purpose, items: Number(t.items), bytes: Number(t.bytes) })),
      items: items.map((i) => ({ id: i.id, kind: i.kind, purpose: i.purpose, state: i.state, retainUntil: i.retain_until.toISOString() })),
    };
  }

  private async requireTarget(scope: HoldScope, id: string): Promise<void> {
    const table = scope === 'subject' ? 'customers' : scope === 'conversation' ? 'conversations' : 'artifacts';
    const rows = await this.dataSource.query<unknown[]>(`SELECT 1 FROM ${table} WHERE id = $1`, [id]);
    if (rows.length === 0) throw new DomainException('NOT_FOUND', `No such ${scope === 'subject' ? 'data subject' : scope}`);
  }

  private view(r: HoldRow): LegalHoldView {
    const now = this.clock.now();
    return {
      id: r.id,
      scope: r.scope,
      targetId: (r.customer_id ?? r.conversation_id ?? r.artifact_id)!,
      reason: r.reason,
      placedBy: r.placed_by,
      placedAt: r.placed_at.toISOString(),
      endsAt: r.ends_at?.toISOString() ?? null,
      releasedBy: r.released_by,
      releasedAt: r.released_at?.toISOString() ?? null,
      releaseReason: r.release_reason,
      active: r.released_at === null && (r.ends_at === null || r.ends_at > now),
    };
  }
}
