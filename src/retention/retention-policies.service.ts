import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { DomainException } from '../errors/domain.exception';
import type { RetentionClock } from './retention-policy.entity';

export interface RetentionPolicy {
  tag: string;
  duration: string;
  starts: RetentionClock;
  description: string;
}

/** Reads the policy per retention tag and turns it into a `retain_until` (R10.1). */
@Injectable()
export class RetentionPoliciesService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(): Promise<RetentionPolicy[]> {
    return this.dataSource.query<RetentionPolicy[]>(`SELECT tag, duration, starts, description FROM retention_policies ORDER BY tag`);
  }

  async get(tag: string, db: EntityManager = this.dataSource.manager): Promise<RetentionPolicy> {
    const rows = await db.query<RetentionPolicy[]>(`SELECT tag, duration, starts, description FROM retention_policies WHERE tag = $1`, [tag]);
    if (!rows[0]) throw new DomainException('RETENTION_POLICY_NOT_FOUND', `There is no retention policy for the tag "${tag}"`);
    return rows[0];
  }

  /**
   * When an item with this tag may be purged. For a clock that starts at the
   * conversation's close while it is still open, the count starts now: the
   * close moves it later (recomputed then), never earlier.
   */
  async retainUntil(tag: string, capturedAt: Date, conversationClosedAt: Date | null, db: EntityManager = this.dataSource.manager): Promise<Date> {
    const policy = await this.get(tag, db);
    const start = policy.starts === 'conversation_closed' && conversationClosedAt ? conversationClosedAt : capturedAt;
    const [row] = await db.query<Array<{ until: Date }>>(`SELECT ($1::timestamptz + $2::interval) AS until`, [start, policy.duration]);
    return row.until;
  }
}
