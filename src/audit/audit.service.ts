import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { ADVISORY_LOCKS } from '../database/advisory-locks';
import type { Participant } from '../directory/directory.service';
import { chainHash, GENESIS_HASH } from './audit-chain';
import type { AuditActorKind, AuditOutcome } from './audit-event.entity';

export interface AuditEntry {
  actor: { kind: AuditActorKind; id: string | null; role: string | null };
  action: string;
  target: { type: string; id: string };
  purpose?: string | null;
  reason?: string | null;
  outcome: AuditOutcome;
  /** Codes and counts only: never content or personal data. */
  details?: Record<string, unknown>;
}

interface AuditRow {
  id: string;
  seq: string;
  occurred_at: Date;
  actor_kind: string;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  target_type: string;
  target_id: string;
  purpose: string | null;
  reason: string | null;
  outcome: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditEventView {
  id: string;
  seq: number;
  occurredAt: string;
  actor: { kind: string; id: string | null; role: string | null };
  action: string;
  target: { type: string; id: string };
  purpose: string | null;
  reason: string | null;
  outcome: string;
  details: Record<string, unknown>;
  hash: string;
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** The first event whose link does not hold, and why. */
  firstBroken: { seq: number; id: string; problem: 'hash' | 'previous hash' | 'sequence gap' } | null;
}

/** The actor as the audit trail names them. */
export function auditActor(p: Participant): AuditEntry['actor'] {
  if (p.kind === 'customer') return { kind: 'customer', id: p.id, role: 'customer' };
  const role = (['privacy_officer', 'admin', 'agent'] as const).find((r) => p.roles.includes(r)) ?? null;
  return { kind: 'staff', id: p.id, role };
}

const toView = (r: AuditRow): AuditEventView => ({
  id: r.id,
  seq: Number(r.seq),
  occurredAt: r.occurred_at.toISOString(),
  actor: { kind: r.actor_kind, id: r.actor_id, role: r.actor_role },
  action: r.action,
  target: { type: r.target_type, id: r.target_id },
  purpose: r.purpose,
  reason: r.reason,
  outcome: r.outcome,
  details: r.details,
  hash: r.hash,
});

/**
 * The tamper-evident trail (R5.1): every content read, capture, consent
 * decision and refusal. Appends are chained one at a time (an advisory lock
 * on the chain's head); verify() recomputes the chain.
 */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /** Appends in the caller's transaction when given one (so the event commits with what it records). */
  async record(entry: AuditEntry, manager?: EntityManager): Promise<AuditEventView> {
    if (manager) return this.append(manager, entry);
    return this.dataSource.transaction((m) => this.append(m, entry));
  }

  async list(filter: { targetId?: string; actorId?: string; afterSeq?: number; limit: number }): Promise<AuditEventView[]> {
    const rows = await this.dataSource.query<AuditRow[]>(
      `SELECT * FROM audit_events
        WHERE ($1::text IS NULL OR target_id = $1) AND ($2::uuid IS NULL OR actor_id = $2) AND seq > $3
        ORDER BY seq LIMIT $4`,
      [filter.targetId ?? null, filter.actorId ?? null, filter.afterSeq ?? 0, filter.limit],
    );
    return rows.map(toView);
  }

  /** Recomputes every link, oldest first, in batches; reports the first that does not hold. */
  async verify(batchSize = 1000): Promise<ChainVerification> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (;;) {
      const rows = await this.dataSource.query<AuditRow[]>(`SELECT * FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, [expectedSeq, batchSize]);
      if (rows.length === 0) return { ok: true, checked, firstBroken: null };
      for (const row of rows) {
        const seq = Number(row.seq);
        const broken = (problem: 'hash' | 'previous hash' | 'sequence gap'): ChainVerification => ({ ok: false, checked, firstBroken: { seq, id: row.id, problem } });
        if (seq !== expectedSeq) return broken('sequence gap');
        if (row.prev_hash !== prevHash) return broken('previous hash');
        const hash = chainHash({
          seq,
          occurredAt: row.occurred_at,
          actorKind: row.actor_kind,
          actorId: row.actor_id,
          actorRole: row.actor_role,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          purpose: row.purpose,
          reason: row.reason,
          outcome: row.outcome,
          details: row.details,
          prevHash: row.prev_hash,
        });
        if (hash !== row.hash) return broken('hash');
        prevHash = row.hash;
        expectedSeq += 1;
        checked += 1;
      }
    }
  }

  private async append(manager: EntityManager, entry: AuditEntry): Promise<AuditEventView> {
    await manager.query(`SELECT pg_advisory_xact_lock($1)`, [ADVISORY_LOCKS.auditChain]);
    const [head] = await manager.query<Array<{ seq: string; hash: string }>>(`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`);
    const fields = {
      seq: head ? Number(head.seq) + 1 : 1,
      occurredAt: this.clock.now(),
      actorKind: entry.actor.kind,
      actorId: entry.actor.id,
      actorRole: entry.actor.role,
      action: entry.action,
      targetType: entry.target.type,
      targetId: entry.target.id,
      purpose: entry.purpose ?? null,
      reason: entry.reason ?? null,
      outcome: entry.outcome,
      details: entry.details ?? {},
      prevHash: head?.hash ?? GENESIS_HASH,
    };
    const hash = chainHash(fields);
    const [row] = await manager.query<AuditRow[]>(
      `INSERT INTO audit_events (seq, occurred_at, actor_kind, actor_id, actor_role, action, target_type, target_id, purpose, reason, outcome, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
      [
        fields.seq,
        fields.occurredAt,
        fields.actorKind,
        fields.actorId,
        fields.actorRole,
        fields.action,
        fields.targetType,
        fields.targetId,
        fields.purpose,
        fields.reason,
        fields.outcome,
        JSON.stringify(fields.details),
        fields.prevHash,
        hash,
      ],
    );
    return toView(row);
  }
}
