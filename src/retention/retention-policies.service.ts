import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { auditActor, AuditService } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { ConsentTextsService, type PublishedText } from '../consent/consent-texts.service';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { conversationHeldCondition, heldCondition } from './legal-holds.service';
import type { RetentionClock } from './retention-policy.entity';

export interface RetentionPolicy {
  tag: string;
  duration: string;
  starts: RetentionClock;
  description: string;
  kinds: string[];
  purposes: string[];
}

export interface PolicyChange {
  duration?: string;
  starts?: RetentionClock;
  description?: string;
}

/** What a change would do, before it is made. */
export interface PolicyPreview {
  current: RetentionPolicy;
  proposed: RetentionPolicy;
  /** The preview counts items captured up to this time; the change is checked against the same set. */
  asOf: string;
  /** Items whose retain_until would change, and how. */
  affected: number;
  sooner: number;
  later: number;
  /** Items that would be past their time at once (purged by the next run unless held). */
  dueAtOnce: number;
  heldAmongDue: number;
  /** For a tag covering them: chats whose message bodies, and calls whose records, would be erased at once (held ones not counted). */
  chatsErasedAtOnce: number;
  callsErasedAtOnce: number;
}

/** ISO 8601 whole days, weeks, months, years: P30D, P12M, P1Y6M. */
const DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/;

const COLUMNS = 'tag, duration, starts, description, kinds, purposes';

/** Reads the policy per retention tag and turns it into a `retain_until` (R10.1). */
@Injectable()
export class RetentionPoliciesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly texts: ConsentTextsService,
  ) {}

  async list(): Promise<RetentionPolicy[]> {
    return this.dataSource.query<RetentionPolicy[]>(`SELECT ${COLUMNS} FROM retention_policies ORDER BY tag`);
  }

  /** `share`: hold the policy row for the caller's transaction, so a change waits for it (and it for a change). */
  async get(tag: string, db: EntityManager = this.dataSource.manager, share = false): Promise<RetentionPolicy> {
    const rows = await db.query<RetentionPolicy[]>(`SELECT ${COLUMNS} FROM retention_policies WHERE tag = $1 ${share ? 'FOR SHARE' : ''}`, [tag]);
    if (!rows[0]) throw new DomainException('RETENTION_POLICY_NOT_FOUND', `There is no retention policy for the tag "${tag}"`);
    return rows[0];
  }

  /** R10.1: what a change of a tag's policy would change, without changing anything. */
  async preview(tag: string, change: PolicyChange): Promise<PolicyPreview> {
    return this.previewIn(this.dataSource.manager, await this.get(tag), change, this.clock.now());
  }

  /**
   * Changes a tag's policy and recomputes retain_until for everything it
   * covers, in one transaction that holds the policy row, audited with what
   * it did. The caller names the preview's `affected` count it reviewed: the
   * change is made only if the same preview, taken inside the transaction,
   * still says so.
   */
  async change(
    actor: Participant,
    tag: string,
    change: PolicyChange,
    expected: { affected: number; asOf?: Date },
  ): Promise<{ policy: RetentionPolicy; recomputed: number; texts: PublishedText[] }> {
    const expectAffected = expected.affected;
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT 1 FROM retention_policies WHERE tag = $1 FOR UPDATE`, [tag]);
      // Items captured after the preview do not make it stale: they follow the new policy like the rest.
      const preview = await this.previewIn(manager, await this.get(tag, manager), change, expected.asOf ?? this.clock.now());
      if (preview.affected !== expectAffected) {
        throw new DomainException('CONFLICT', `The preview said ${expectAffected} items would change, now it is ${preview.affected}: preview again`);
      }
      const proposed = preview.proposed;
      await manager.query(`UPDATE retention_policies SET duration = $2, starts = $3, description = $4, updated_at = now() WHERE tag = $1`, [
        tag,
        proposed.duration,
        proposed.starts,
        proposed.description,
      ]);
      const [, recomputed] = await manager.query<[unknown[], number]>(
        `UPDATE artifacts a SET retain_until = ${untilSql('a', 'c', '$2', '$3')}
           FROM conversations c
          WHERE c.id = a.conversation_id AND a.retention_tag = $1 AND a.state IN ('pending', 'stored', 'purging')
            AND a.retain_until IS DISTINCT FROM ${untilSql('a', 'c', '$2', '$3')}`,
        [tag, proposed.duration, proposed.starts],
      );
      // The consent texts state the period in words: what customers are told changes with it.
      const texts = await this.texts.publishShippedIn(manager, { tags: [tag] });
      await this.audit.record(
        {
          actor: auditActor(actor),
          action: 'retention.policy.change',
          target: { type: 'retention_policy', id: tag },
          outcome: 'allowed',
          details: {
            from: { duration: preview.current.duration, starts: preview.current.starts, description: preview.current.description },
            to: { duration: proposed.duration, starts: proposed.starts, description: proposed.description },
            recomputed,
            sooner: preview.sooner,
            later: preview.later,
            dueAtOnce: preview.dueAtOnce,
            heldAmongDue: preview.heldAmongDue,
            chatsErasedAtOnce: preview.chatsErasedAtOnce,
            callsErasedAtOnce: preview.callsErasedAtOnce,
            texts: texts.map((t) => ({ purpose: t.purpose, locale: t.locale, version: t.version })),
          },
        },
        manager,
      );
      return { policy: proposed, recomputed, texts };
    });
  }

  private async previewIn(db: EntityManager, current: RetentionPolicy, change: PolicyChange, asOf: Date): Promise<PolicyPreview> {
    const proposed = this.proposed(current, change);
    const now = this.clock.now();
    const [row] = await db.query<Array<{ affected: string; sooner: string; later: string; due: string; held: string }>>(
      `WITH next AS (
         SELECT a.id, a.retain_until AS old_until, ${untilSql('a', 'c', '$2', '$3')} AS new_until, ${heldCondition('a', '$4')} AS held
           FROM artifacts a JOIN conversations c ON c.id = a.conversation_id
          WHERE a.retention_tag = $1 AND a.state IN ('pending', 'stored', 'purging') AND a.captured_at <= $5)
       SELECT count(*) FILTER (WHERE new_until <> old_until) AS affected,
              count(*) FILTER (WHERE new_until < old_until) AS sooner,
              count(*) FILTER (WHERE new_until > old_until) AS later,
              count(*) FILTER (WHERE new_until <= $4 AND old_until > $4) AS due,
              count(*) FILTER (WHERE new_until <= $4 AND old_until > $4 AND held) AS held
         FROM next`,
      [current.tag, proposed.duration, proposed.starts, now, asOf],
    );
    return {
      current,
      proposed,
      asOf: asOf.toISOString(),
      affected: Number(row.affected),
      sooner: Number(row.sooner),
      later: Number(row.later),
      dueAtOnce: Number(row.due),
      heldAmongDue: Number(row.held),
      ...(await this.erasedAtOnce(db, current, proposed, now)),
    };
  }

  /** What the purge's erase steps would take at once under the proposed duration (they count from the close). */
  private async erasedAtOnce(db: EntityManager, current: RetentionPolicy, proposed: RetentionPolicy, now: Date): Promise<{ chatsErasedAtOnce: number; callsErasedAtOnce: number }> {
    const count = async (sql: string) => Number((await db.query<Array<{ n: string }>>(sql, [current.duration, proposed.duration, now]))[0].n);
    const window = `c.closed_at + $2::interval <= $3 AND c.closed_at + $1::interval > $3 AND NOT ${conversationHeldCondition('c', '$3')}`;
    return {
      chatsErasedAtOnce: current.kinds.includes('chat_message')
        ? await count(
            `SELECT count(*) AS n FROM conversations c WHERE c.status = 'closed' AND c.bodies_erased_at IS NULL AND ${window}
                AND EXISTS (SELECT 1 FROM chat_messages m WHERE m.conversation_id = c.id AND m.body <> '')`,
          )
        : 0,
      callsErasedAtOnce: current.kinds.includes('call_metadata')
        ? await count(`SELECT count(*) AS n FROM conversations c JOIN calls k ON k.conversation_id = c.id AND k.erased_at IS NULL WHERE c.status = 'closed' AND ${window}`)
        : 0,
    };
  }

  private proposed(current: RetentionPolicy, change: PolicyChange): RetentionPolicy {
    const duration = change.duration ?? current.duration;
    if (!DURATION.test(duration) || /^P(0+[YMWD])+$/.test(duration)) {
      throw new DomainException('VALIDATION_FAILED', 'duration must be an ISO 8601 duration of whole days, weeks, months or years, more than zero (P30D, P12M)');
    }
    const starts = change.starts ?? current.starts;
    // Message bodies and call records have no capture time of their own to count from: their conversation's close it is.
    if (starts !== 'conversation_closed' && current.kinds.some((k) => k === 'chat_message' || k === 'call_metadata')) {
      throw new DomainException('VALIDATION_FAILED', `"${current.tag}" covers chat message bodies or call records: its clock starts at the conversation's close`);
    }
    return { ...current, duration, starts, description: change.description ?? current.description };
  }

  /**
   * When an item with this tag may be purged. For a clock that starts at the
   * conversation's close while it is still open, the count starts now: the
   * close moves it later (recomputed then), never earlier.
   */
  async retainUntil(tag: string, capturedAt: Date, conversationClosedAt: Date | null, db: EntityManager = this.dataSource.manager, share = false): Promise<Date> {
    const policy = await this.get(tag, db, share);
    const start = policy.starts === 'conversation_closed' && conversationClosedAt ? conversationClosedAt : capturedAt;
    const [row] = await db.query<Array<{ until: Date }>>(`SELECT ($1::timestamptz + $2::interval) AS until`, [start, policy.duration]);
    return row.until;
  }
}

/** retain_until under a policy: from the close when that clock applies and the conversation is closed, else from capture. */
function untilSql(artifact: string, conversation: string, durationParam: string, startsParam: string): string {
  return `(CASE WHEN ${startsParam} = 'conversation_closed' AND ${conversation}.closed_at IS NOT NULL THEN ${conversation}.closed_at ELSE ${artifact}.captured_at END + ${durationParam}::interval)`;
}
