import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DirectoryService } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { CONVERSATION_EVENTS, type ConversationChangedEvent } from './conversation.events';
import type { ConversationRow } from './conversation.views';
import { ConversationsService } from './conversations.service';
import type { TelephonyEventDto } from './dto/telephony-event.dto';
import { hashPhoneNumber, maskPhoneNumber } from './telephony-signature';

interface CallRow {
  id: string;
  conversation_id: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
}

type Emit = { event: string; conversationId: string; previousAgentId?: string | null };

/**
 * Call metadata from the phone system (R3.3). Each event is applied in one
 * transaction together with its event id, so a replay changes nothing.
 */
@Injectable()
export class TelephonyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly directory: DirectoryService,
    private readonly conversations: ConversationsService,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async handle(event: TelephonyEventDto): Promise<{ status: 'accepted' | 'duplicate' }> {
    const emits: Emit[] = [];
    const status = await this.dataSource.transaction(async (manager) => {
      const fresh = await manager.query<{ event_id: string }[]>(
        `INSERT INTO telephony_events (event_id, type, received_at) VALUES ($1, $2, $3)
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        [event.id, event.type, this.clock.now()],
      );
      if (fresh.length === 0) return 'duplicate' as const;
      switch (event.type) {
        case 'call.started':
          await this.started(manager, event, emits);
          break;
        case 'call.answered':
          await this.answered(manager, event, emits);
          break;
        case 'call.ended':
          await this.ended(manager, event, emits);
          break;
      }
      return 'accepted' as const;
    });
    for (const { event: name, conversationId, previousAgentId } of emits) {
      const changed: ConversationChangedEvent = { conversation: await this.conversations.viewById(conversationId), previousAgentId };
      this.events.emit(name, changed);
    }
    return { status };
  }

  /** A call creates the customer's open call conversation, or joins it. */
  private async started(manager: EntityManager, event: TelephonyEventDto, emits: Emit[]): Promise<void> {
    const call = event.call;
    const customerId = await this.customerFor(manager, event);
    // Two calls of one customer starting at once must not open two call conversations.
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext('call-conversation:' || $1::text))`, [customerId]);
    const existing = await manager.query<ConversationRow[]>(
      `SELECT * FROM conversations WHERE customer_id = $1 AND channel = 'call' AND status = 'open'
        ORDER BY opened_at DESC LIMIT 1 FOR UPDATE`,
      [customerId],
    );
    let conversationId = existing[0]?.id;
    if (!conversationId) {
      const [created] = await manager.query<ConversationRow[]>(
        `INSERT INTO conversations (channel, status, customer_id, opened_at) VALUES ('call', 'open', $1, $2) RETURNING *`,
        [customerId, new Date(event.occurredAt)],
      );
      conversationId = created.id;
      emits.push({ event: CONVERSATION_EVENTS.opened, conversationId });
    }
    const inserted = await manager.query<{ id: string }[]>(
      `INSERT INTO calls (conversation_id, provider_call_id, direction, caller_number_masked, queue, started_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider_call_id) DO NOTHING RETURNING id`,
      [conversationId, call.id, call.direction, call.from ? maskPhoneNumber(call.from) : null, call.queue ?? null, new Date(event.occurredAt)],
    );
    if (inserted.length === 0) throw new DomainException('CONFLICT', 'This call was already started');
  }

  private async answered(manager: EntityManager, event: TelephonyEventDto, emits: Emit[]): Promise<void> {
    const call = await this.callFor(manager, event.call.id);
    await manager.query(`UPDATE calls SET answered_at = COALESCE(answered_at, $2) WHERE id = $1`, [call.id, new Date(event.occurredAt)]);
    if (!event.call.agentSubject) return;
    const agentId = await this.directory.staffForSubject(event.call.agentSubject, manager);
    const [assigned] = await manager.query<[{ previous: string | null }[], number]>(
      `UPDATE conversations c SET assigned_agent_id = $2, assigned_at = $3
         FROM (SELECT id, assigned_agent_id AS previous FROM conversations WHERE id = $1 FOR UPDATE) p
        WHERE c.id = p.id AND c.status = 'open' AND c.assigned_agent_id IS DISTINCT FROM $2
        RETURNING p.previous`,
      [call.conversation_id, agentId, new Date(event.occurredAt)],
    );
    if (assigned.length > 0) {
      emits.push({ event: CONVERSATION_EVENTS.assigned, conversationId: call.conversation_id, previousAgentId: assigned[0].previous });
    }
  }

  /** The call ends; its conversation closes once no call in it is still going. */
  private async ended(manager: EntityManager, event: TelephonyEventDto, emits: Emit[]): Promise<void> {
    const call = await this.callFor(manager, event.call.id);
    const endedAt = new Date(event.occurredAt);
    await manager.query(
      `UPDATE calls SET ended_at = $2, duration_seconds = GREATEST(0, EXTRACT(EPOCH FROM ($2::timestamptz - started_at))::int)
        WHERE id = $1 AND ended_at IS NULL`,
      [call.id, endedAt],
    );
    const live = await manager.query<{ n: string }[]>(
      `SELECT count(*) AS n FROM calls WHERE conversation_id = $1 AND ended_at IS NULL`,
      [call.conversation_id],
    );
    if (live[0].n !== '0') return;
    const [conversation] = await manager.query<ConversationRow[]>(`SELECT * FROM conversations WHERE id = $1 FOR UPDATE`, [call.conversation_id]);
    if (conversation.status === 'open') {
      await this.conversations.closeRow(manager, conversation.id);
      emits.push({ event: CONVERSATION_EVENTS.closed, conversationId: conversation.id });
    }
  }

  private async callFor(manager: EntityManager, providerCallId: string): Promise<CallRow> {
    const rows = await manager.query<CallRow[]>(`SELECT * FROM calls WHERE provider_call_id = $1 FOR UPDATE`, [providerCallId]);
    // Rolled back with the event id, so the phone system's retry after call.started is applied.
    if (!rows[0]) throw new DomainException('NOT_FOUND', 'No call with this id has started');
    return rows[0];
  }

  private async customerFor(manager: EntityManager, event: TelephonyEventDto): Promise<string> {
    const { customerSubject, from } = event.call;
    if (customerSubject) return this.directory.customerForSubject(customerSubject, manager);
    if (from) {
      return this.directory.customerForCaller(hashPhoneNumber(this.config.telephony.webhookSecret!, from), maskPhoneNumber(from), manager);
    }
    throw new DomainException('VALIDATION_FAILED', 'call.started needs call.customerSubject or call.from');
  }
}
