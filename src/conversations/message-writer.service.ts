import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { canWrite } from './conversation-access';
import { CONVERSATION_EVENTS, type MessagesCreatedEvent } from './conversation.events';
import { toMessageView, type MessageRow, type MessageView } from './conversation.views';

export interface SendMessage {
  conversationId: string;
  sender: Participant;
  clientMessageId: string;
  body: string;
}

export interface SendResult {
  message: MessageView;
  /** True when this client message id was stored before: nothing was written now. */
  duplicate: boolean;
}

interface Pending {
  request: SendMessage;
  resolve(result: SendResult): void;
  reject(err: unknown): void;
}

interface LockedConversation {
  id: string;
  status: string;
  customer_id: string;
  assigned_agent_id: string | null;
  last_seq: number;
}

/** Rows per transaction: large enough to amortise the commit, small enough to keep latency flat. */
const MAX_BATCH = 100;
/** Transactions in flight at once (well under the pool size, which REST and sockets share). */
const MAX_CONCURRENT_FLUSHES = 4;

/**
 * The one path that stores chat messages. Sends queue up while a transaction is
 * in flight and are committed together in the next one (group commit), so a
 * busy service writes hundreds of messages per commit and an idle one commits
 * each at once. Every sender learns its sequence number only after COMMIT.
 *
 * Sequence numbers are gapless and in commit order, across instances too: each
 * transaction locks its conversations' rows (in id order, so two writers never
 * deadlock), reads `last_seq`, and hands out the next numbers under that lock.
 */
@Injectable()
export class MessageWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(MessageWriter.name);
  private queue: Pending[] = [];
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
  ) {}

  send(request: SendMessage): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.kick();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // Let the last batches commit (and their senders hear back) before the pool closes.
    while (this.flushing.size > 0) await Promise.all(this.flushing);
  }

  /**
   * Up to MAX_CONCURRENT_FLUSHES transactions overlap, so the service keeps
   * working while one waits for its commit; batches on the same conversation
   * still serialise on its row lock.
   */
  private kick(): void {
    while (this.flushing.size < MAX_CONCURRENT_FLUSHES && this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const flushing: Promise<void> = this.flush(batch).finally(() => {
        this.flushing.delete(flushing);
        this.kick();
      });
      this.flushing.add(flushing);
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    let outcomes: Array<SendResult | DomainException>;
    try {
      // READ COMMITTED (the default): each statement sees what committed before it took its locks.
      outcomes = await this.dataSource.transaction((manager) => this.write(manager, batch));
    } catch (err) {
      this.logger.error({ err, batch: batch.length }, 'message batch failed');
      for (const p of batch) p.reject(err);
      return;
    }
    // After COMMIT: acknowledge, then tell everyone else (design: events never from inside a transaction).
    const created: MessageView[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome instanceof DomainException) return batch[i].reject(outcome);
      batch[i].resolve(outcome);
      if (!outcome.duplicate) created.push(outcome.message);
    });
    if (created.length > 0) this.events.emit(CONVERSATION_EVENTS.messagesCreated, { messages: created } satisfies MessagesCreatedEvent);
  }

  private async write(manager: EntityManager, batch: Pending[]): Promise<Array<SendResult | DomainException>> {
    const conversationIds = [...new Set(batch.map((p) => p.request.conversationId))].sort();
    const locked = await manager.query<LockedConversation[]>(
      `SELECT id, status, customer_id, assigned_agent_id, last_seq
         FROM conversations WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      [conversationIds],
    );
    const conversations = new Map(locked.map((c) => [c.id, c]));

    // Resends: the same (conversation, sender, client id) answered from what is stored.
    const existing = await manager.query<MessageRow[]>(
      `SELECT m.* FROM chat_messages m
         JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(conversation_id, sender_id, client_message_id)
           ON m.conversation_id = k.conversation_id AND m.sender_id = k.sender_id AND m.client_message_id = k.client_message_id`,
      [
        batch.map((p) => p.request.conversationId),
        batch.map((p) => p.request.sender.id),
        batch.map((p) => p.request.clientMessageId),
      ],
    );
    const stored = new Map(existing.map((m) => [dedupeKey(m.conversation_id, m.sender_id, m.client_message_id), m]));

    const now = this.clock.now();
    const outcomes: Array<SendResult | DomainException | { pendingIndex: number }> = [];
    const inserts: { index: number; row: Omit<MessageRow, 'id'> }[] = [];
    const firstInBatch = new Map<string, number>();
    for (const [i, { request }] of batch.entries()) {
      const conversation = conversations.get(request.conversationId);
      if (!conversation || !canWrite(request.sender, conversation)) {
        outcomes.push(new DomainException('CONVERSATION_NOT_FOUND', 'No such conversation, or not yours to write in'));
        continue;
      }
      const key = dedupeKey(request.conversationId, request.sender.id, request.clientMessageId);
      const previous = stored.get(key);
      if (previous) {
        outcomes.push({ message: toMessageView(previous), duplicate: true });
        continue;
      }
      const twin = firstInBatch.get(key);
      if (twin !== undefined) {
        outcomes.push({ pendingIndex: twin }); // the same resend twice in one batch
        continue;
      }
      if (conversation.status !== 'open') {
        outcomes.push(new DomainException('CONVERSATION_CLOSED', 'This conversation is closed'));
        continue;
      }
      conversation.last_seq += 1;
      firstInBatch.set(key, i);
      inserts.push({
        index: i,
        row: {
          conversation_id: request.conversationId,
          seq: conversation.last_seq,
          sender_kind: request.sender.kind,
          sender_id: request.sender.id,
          body: request.body,
          client_message_id: request.clientMessageId,
          created_at: now,
        },
      });
      outcomes.push({ pendingIndex: i });
    }

    const written = new Map<number, MessageRow>();
    if (inserts.length > 0) {
      const touched = [...new Set(inserts.map((x) => x.row.conversation_id))];
      // One statement: the rows, and each conversation's new counter. Only the ids come back.
      const ids = await manager.query<{ id: string }[]>(
        `WITH bumped AS (
           UPDATE conversations c SET last_seq = v.last_seq
             FROM unnest($8::uuid[], $9::int[]) AS v(id, last_seq) WHERE c.id = v.id
         )
         INSERT INTO chat_messages (conversation_id, seq, sender_kind, sender_id, body, client_message_id, created_at)
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[])
         RETURNING id`,
        [
          inserts.map((x) => x.row.conversation_id),
          inserts.map((x) => x.row.seq),
          inserts.map((x) => x.row.sender_kind),
          inserts.map((x) => x.row.sender_id),
          inserts.map((x) => x.row.body),
          inserts.map((x) => x.row.client_message_id),
          inserts.map((x) => x.row.created_at),
          touched,
          touched.map((id) => conversations.get(id)!.last_seq),
        ],
      );
      // RETURNING follows the input order for INSERT ... SELECT from unnest.
      ids.forEach(({ id }, j) => written.set(inserts[j].index, { id, ...inserts[j].row }));
    }

    return outcomes.map((o, i) => {
      if (o instanceof DomainException || !('pendingIndex' in o)) return o;
      const row = written.get(o.pendingIndex)!;
      return { message: toMessageView(row), duplicate: o.pendingIndex !== i };
    });
  }
}

function dedupeKey(conversationId: string, senderId: string, clientMessageId: string): string {
  return `${conversationId}\u0000${senderId}\u0000${clientMessageId}`;
}
