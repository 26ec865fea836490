import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { CallEntity } from './call.entity';
import { canClose, canReadContent, canSeeMetadata } from './conversation-access';
import type { Channel, ConversationStatus } from './conversation.entity';
import { CONVERSATION_EVENTS, type ConversationChangedEvent } from './conversation.events';
import { MessageWriter, type SendResult } from './message-writer.service';
import { toConversationView, toMessageView, type ConversationRow, type ConversationView, type MessageRow, type MessageView } from './conversation.views';
import { lockUntilCommit } from '../database/advisory-locks';

export interface ConversationFilter {
  status?: ConversationStatus;
  channel?: Channel;
  agentId?: string;
  customerId?: string;
  /** Only the open, unassigned queue. */
  unassigned?: boolean;
  limit: number;
  /** Opaque cursor from the previous page. */
  cursor?: string;
}

export interface MessagePage {
  items: MessageView[];
  /** The sequence number to ask after for the next page; null on the last one. */
  nextAfter: number | null;
}

export type MessageReader = (afterSeq: number, limit: number) => Promise<MessagePage>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const NOT_FOUND = () => new DomainException('CONVERSATION_NOT_FOUND', 'No such conversation');

/** Conversations: opening, the queue, assignment, closing, history. Message writes go through MessageWriter. */
@Injectable()
export class ConversationsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(CallEntity) private readonly calls: Repository<CallEntity>,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
    private readonly writer: MessageWriter,
    private readonly config: AppConfig,
    private readonly rateLimits: RateLimitService,
  ) {}

  /** Stores a message; resolves with its sequence number once committed (see MessageWriter). */
  async send(sender: Participant, conversationId: string, clientMessageId: string, body: string): Promise<SendResult> {
    // One budget per sender, over every socket and REST alike (CHAT_RATE_LIMIT_*).
    const limited = this.rateLimits.take('chat_send', sender.id);
    if (limited) await limited;
    const max = this.config.chat.maxMessageLength;
    if (body.length > max) {
      throw new DomainException('MESSAGE_TOO_LONG', `A message holds at most ${max} characters (this one has ${body.length})`);
    }
    if (body.trim() === '') throw new DomainException('VALIDATION_FAILED', 'body must not be empty');
    // PostgreSQL text cannot hold NUL; refused here so it never fails the batch it would share.
    if (body.includes('\u0000')) throw new DomainException('VALIDATION_FAILED', 'body must not contain NUL characters');
    return this.writer.send({ conversationId, sender, clientMessageId, body });
  }

  /** A customer opens a chat. */
  async openChat(customer: Participant): Promise<ConversationView> {
    if (customer.kind !== 'customer') throw new DomainException('FORBIDDEN', 'Only a customer opens a chat');
    const max = this.config.limits.openConversationsPerCustomer;
    const row = await this.dataSource.transaction(async (manager) => {
      // One customer cannot fill the agents' shared queue; counted under a lock, so parallel opens cannot pass it together.
      await lockUntilCommit(manager, `open-chat:${customer.id}`);
      const [{ open }] = await manager.query<{ open: number }[]>(
        `SELECT count(*)::int AS open FROM conversations WHERE customer_id = $1 AND channel = 'chat' AND status = 'open'`,
        [customer.id],
      );
      if (open >= max) throw new DomainException('TOO_MANY_OPEN_CONVERSATIONS', `At most ${max} chats can be open at once; close one first`);
      const [inserted] = await manager.query<ConversationRow[]>(
        `INSERT INTO conversations (channel, status, customer_id, opened_at) VALUES ('chat', 'open', $1, $2) RETURNING *`,
        [customer.id, this.clock.now()],
      );
      return inserted;
    });
    const view = toConversationView(row, this.clock.now());
    this.events.emit(CONVERSATION_EVENTS.opened, { conversation: view });
    return view;
  }

  async get(viewer: Participant, id: string): Promise<ConversationView> {
    const row = await this.findRow(id);
    if (!row || !canSeeMetadata(viewer, row)) throw NOT_FOUND();
    return this.view(row);
  }

  /**
   * The one way to message content: checks once that the viewer may read it,
   * then hands back the conversation and a reader for its messages.
   */
  async openForReading(viewer: Participant, id: string): Promise<{ conversation: ConversationView; messagesAfter: MessageReader }> {
    const row = await this.findRow(id);
    if (!row || !canSeeMetadata(viewer, row)) throw NOT_FOUND();
    if (!canReadContent(viewer, row)) {
      throw new DomainException(
        'FORBIDDEN',
        viewer.kind === 'staff' && !viewer.roles.includes('agent') && !viewer.roles.includes('admin')
          ? 'Message content is not shown to this role'
          : 'Take the conversation first to read its messages',
      );
    }
    return { conversation: await this.view(row), messagesAfter: (afterSeq, limit) => this.messagesAfter(id, afterSeq, limit) };
  }

  async list(viewer: Participant, filter: ConversationFilter): Promise<Page<ConversationView>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    // Visibility first; the caller's filters can only narrow it.
    if (viewer.kind === 'customer') {
      where.push(`customer_id = ${param(viewer.id)}`);
    } else if (!viewer.roles.includes('admin') && !viewer.roles.includes('privacy_officer')) {
      where.push(`(assigned_agent_id = ${param(viewer.id)} OR (status = 'open' AND assigned_agent_id IS NULL))`);
    }
    if (filter.status) where.push(`status = ${param(filter.status)}`);
    if (filter.channel) where.push(`channel = ${param(filter.channel)}`);
    if (filter.agentId) where.push(`assigned_agent_id = ${param(filter.agentId)}`);
    if (filter.customerId) where.push(`customer_id = ${param(filter.customerId)}`);
    if (filter.unassigned) where.push(`status = 'open' AND assigned_agent_id IS NULL`);
    if (filter.cursor) {
      const cursor = decodeCursor(filter.cursor);
      where.push(`(opened_at, id) < (${param(cursor.openedAt)}::timestamptz, ${param(cursor.id)}::uuid)`);
    }
    const rows = await this.dataSource.query<ConversationRow[]>(
      `SELECT * FROM conversations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY opened_at DESC, id DESC LIMIT ${param(filter.limit + 1)}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    const views = await this.views(page);
    const last = page[page.length - 1];
    return { items: views, nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null };
  }

  /** Messages after a sequence number, oldest first (history and resume after reconnect). */
  async history(viewer: Participant, id: string, afterSeq: number, limit: number): Promise<MessagePage> {
    return (await this.openForReading(viewer, id)).messagesAfter(afterSeq, limit);
  }

  private async messagesAfter(id: string, afterSeq: number, limit: number): Promise<MessagePage> {
    const rows = await this.dataSource.query<MessageRow[]>(
      `SELECT * FROM chat_messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [id, afterSeq, limit + 1],
    );
    const items = rows.slice(0, limit).map(toMessageView);
    return { items, nextAfter: rows.length > limit ? items[items.length - 1].seq : null };
  }

  /**
   * An agent takes a conversation from the queue (only if still unassigned);
   * an admin assigns it to any agent, also over an existing assignment.
   */
  async assign(viewer: Participant, id: string, agentId?: string): Promise<ConversationView> {
    if (viewer.kind !== 'staff') throw NOT_FOUND();
    const isAdmin = viewer.roles.includes('admin');
    const target = agentId ?? viewer.id;
    if (!isAdmin && (target !== viewer.id || !viewer.roles.includes('agent'))) {
      throw new DomainException('FORBIDDEN', 'Agents take conversations for themselves; admins assign them');
    }
    let previousAgentId: string | null = null;
    const row = await this.dataSource.transaction(async (manager) => {
      const current = await this.lockRow(manager, id);
      if (!current || !canSeeMetadata(viewer, current)) throw NOT_FOUND();
      if (current.status !== 'open') throw new DomainException('CONVERSATION_CLOSED', 'This conversation is closed');
      if (current.assigned_agent_id === target) return current;
      previousAgentId = current.assigned_agent_id;
      if (current.assigned_agent_id !== null && !isAdmin) {
        throw new DomainException('CONVERSATION_TAKEN', 'Another agent took this conversation');
      }
      if (isAdmin && target !== viewer.id) await this.requireAgent(manager, target);
      const [updated] = await manager.query<[ConversationRow[], number]>(
        `UPDATE conversations SET assigned_agent_id = $2, assigned_at = $3 WHERE id = $1 RETURNING *`,
        [id, target, this.clock.now()],
      );
      return updated[0];
    });
    const view = await this.view(row);
    this.events.emit(CONVERSATION_EVENTS.assigned, { conversation: view, previousAgentId } satisfies ConversationChangedEvent);
    return view;
  }

  async close(viewer: Participant, id: string): Promise<ConversationView> {
    const { row, changed } = await this.dataSource.transaction(async (manager) => {
      const current = await this.lockRow(manager, id);
      if (!current || !canSeeMetadata(viewer, current)) throw NOT_FOUND();
      if (!canClose(viewer, current)) throw new DomainException('FORBIDDEN', 'Only the customer or the assigned agent closes a conversation');
      if (current.status === 'closed') return { row: current, changed: false };
      return { row: await this.closeRow(manager, id), changed: true };
    });
    const view = await this.view(row);
    if (changed) this.events.emit(CONVERSATION_EVENTS.closed, { conversation: view });
    return view;
  }

  /**
   * Closing inside a caller's transaction (telephony); the caller emits after
   * commit. The same transaction starts the retention clock of what was
   * captured in it under a tag counted from the close (R10.1): a crash after
   * the close cannot leave them on their provisional time.
   */
  async closeRow(manager: EntityManager, id: string): Promise<ConversationRow> {
    const [updated] = await manager.query<[ConversationRow[], number]>(
      `UPDATE conversations SET status = 'closed', closed_at = $2 WHERE id = $1 RETURNING *`,
      [id, this.clock.now()],
    );
    // The same interlock as a capture: a policy change either comes first (and this reads its duration) or waits for this.
    await manager.query(`SELECT 1 FROM retention_policies WHERE starts = 'conversation_closed' ORDER BY tag FOR SHARE`);
    await manager.query(
      `UPDATE artifacts a SET retain_until = $2::timestamptz + p.duration::interval
         FROM retention_policies p
        WHERE a.conversation_id = $1 AND p.tag = a.retention_tag AND p.starts = 'conversation_closed' AND a.state IN ('pending', 'stored', 'purging')`,
      [id, updated[0].closed_at],
    );
    return updated[0];
  }

  /**
   * Every message of a conversation, oldest first, a page at a time: for the
   * service's own use (transcripts), never for a viewer.
   */
  async *allMessages(conversationId: string, pageSize = 500): AsyncGenerator<MessageView> {
    let after = 0;
    for (;;) {
      const page = await this.messagesAfter(conversationId, after, pageSize);
      for (const message of page.items) yield message;
      if (page.nextAfter === null) return;
      after = page.nextAfter;
    }
  }

  /**
   * Erases the message bodies of closed conversations whose time is up
   * (closed + `duration` at or before `now`) and that no hold covers
   * (`heldCondition` on alias `c`): bodies become empty, the rows, their
   * order and times stay. Returns how many messages and bytes were erased.
   */
  async eraseExpiredBodies(duration: string, now: Date, limit: number, heldCondition: string): Promise<{ conversations: number; messages: number; bytes: number }> {
    return this.dataSource.transaction(async (manager) => {
      const due = await manager.query<Array<{ id: string }>>(
        `SELECT c.id FROM conversations c
          WHERE c.status = 'closed' AND c.bodies_erased_at IS NULL AND c.closed_at + $1::interval <= $2 AND NOT ${heldCondition}
          ORDER BY c.closed_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [duration, now, limit],
      );
      if (due.length === 0) return { conversations: 0, messages: 0, bytes: 0 };
      const ids = due.map((d) => d.id);
      // A SELECT (with a writing CTE): plain rows, not [rows, count].
      const [erased] = await manager.query<Array<{ messages: string; bytes: string }>>(
        `WITH old AS (SELECT id, octet_length(body) AS bytes FROM chat_messages WHERE conversation_id = ANY($1) AND body <> '' FOR UPDATE),
              done AS (UPDATE chat_messages m SET body = '' FROM old WHERE m.id = old.id RETURNING old.bytes)
         SELECT count(*) AS messages, COALESCE(sum(bytes), 0) AS bytes FROM done`,
        [ids],
      );
      await manager.query(`UPDATE conversations SET bodies_erased_at = $2 WHERE id = ANY($1)`, [ids, now]);
      return { conversations: ids.length, messages: Number(erased.messages), bytes: Number(erased.bytes) };
    });
  }

  /**
   * Call metadata whose time is up (call_metadata: closed + `duration`), no
   * hold covering its conversation: the masked number, the queue and the
   * phone system's call id go; direction, times and duration stay.
   */
  async eraseExpiredCallMetadata(duration: string, now: Date, limit: number, heldCondition: string): Promise<number> {
    const [rows] = await this.dataSource.query<[unknown[], number]>(
      `WITH due AS (
         SELECT c.id FROM conversations c
          WHERE c.channel = 'call' AND c.status = 'closed' AND c.closed_at + $1::interval <= $2 AND NOT ${heldCondition}
            AND EXISTS (SELECT 1 FROM calls k WHERE k.conversation_id = c.id AND k.erased_at IS NULL)
          ORDER BY c.closed_at LIMIT $3 FOR UPDATE SKIP LOCKED)
       UPDATE calls k SET caller_number_masked = NULL, queue = NULL, provider_call_id = 'erased:' || k.id, erased_at = $2
         FROM due WHERE k.conversation_id = due.id AND k.erased_at IS NULL
       RETURNING k.id`,
      [duration, now, limit],
    );
    return rows.length;
  }

  /** What eraseExpiredBodies would erase now (a dry run): messages and bytes, counted, never loaded. */
  async expiredBodiesTotals(duration: string, now: Date, heldCondition: string): Promise<{ messages: number; bytes: number }> {
    const [row] = await this.dataSource.query<Array<{ messages: string; bytes: string }>>(
      `SELECT count(*) AS messages, COALESCE(sum(octet_length(m.body)), 0) AS bytes
         FROM conversations c JOIN chat_messages m ON m.conversation_id = c.id AND m.body <> ''
        WHERE c.status = 'closed' AND c.bodies_erased_at IS NULL AND c.closed_at + $1::interval <= $2 AND NOT ${heldCondition}`,
      [duration, now],
    );
    return { messages: Number(row.messages), bytes: Number(row.bytes) };
  }

  /** What eraseExpiredCallMetadata would erase now (a dry run): calls, counted. */
  async expiredCallMetadataCount(duration: string, now: Date, heldCondition: string): Promise<number> {
    const [row] = await this.dataSource.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM conversations c JOIN calls k ON k.conversation_id = c.id AND k.erased_at IS NULL
        WHERE c.channel = 'call' AND c.status = 'closed' AND c.closed_at + $1::interval <= $2 AND NOT ${heldCondition}`,
      [duration, now],
    );
    return Number(row.n);
  }

  /** The customer's open conversations (to tell their agents about a standing choice). */
  async openConversationsOf(customerId: string): Promise<ConversationView[]> {
    const rows = await this.dataSource.query<ConversationRow[]>(
      `SELECT * FROM conversations WHERE customer_id = $1 AND status = 'open' ORDER BY opened_at DESC LIMIT 100`,
      [customerId],
    );
    return this.views(rows);
  }

  async viewById(id: string): Promise<ConversationView> {
    const row = await this.findRow(id);
    if (!row) throw NOT_FOUND();
    return this.view(row);
  }

  private async requireAgent(manager: EntityManager, staffId: string): Promise<void> {
    const rows = await manager.query<{ roles: string[] }[]>(`SELECT roles FROM staff_members WHERE id = $1`, [staffId]);
    if (!rows[0]?.roles.includes('agent')) throw new DomainException('VALIDATION_FAILED', 'agentId is not an agent known to the service');
  }

  private async findRow(id: string): Promise<ConversationRow | undefined> {
    const rows = await this.dataSource.query<ConversationRow[]>(`SELECT * FROM conversations WHERE id = $1`, [id]);
    return rows[0];
  }

  private async lockRow(manager: EntityManager, id: string): Promise<ConversationRow | undefined> {
    const rows = await manager.query<ConversationRow[]>(`SELECT * FROM conversations WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0];
  }

  private async view(row: ConversationRow): Promise<ConversationView> {
    return (await this.views([row]))[0];
  }

  private async views(rows: ConversationRow[]): Promise<ConversationView[]> {
    const callIds = rows.filter((r) => r.channel === 'call').map((r) => r.id);
    const calls = callIds.length
      ? await this.calls.createQueryBuilder('c').where('c.conversation_id = ANY(:ids)', { ids: callIds }).orderBy('c.started_at').getMany()
      : [];
    const now = this.clock.now();
    return rows.map((r) => toConversationView(r, now, r.channel === 'call' ? calls.filter((c) => c.conversationId === r.id) : undefined));
  }
}

function encodeCursor(row: ConversationRow): string {
  return Buffer.from(`${row.opened_at.toISOString()}|${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { openedAt: string; id: string } {
  const [openedAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!openedAt || !id || !iso.test(openedAt) || Number.isNaN(Date.parse(openedAt)) || !uuid.test(id)) {
    throw new DomainException('VALIDATION_FAILED', 'cursor is not valid');
  }
  return { openedAt, id };
}
