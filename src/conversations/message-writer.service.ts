import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../clock/clock';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { CONVERSATION_EVENTS, type MessagesCreatedEvent } from './conversation.events';
import type { MessageView } from './conversation.views';
import { OrderedRelease } from './ordered-release';

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

/** Messages per commit: enough to amortise it, few enough that batches overlap (bench:chat). */
const MAX_BATCH = 100;
/** Batches in flight at once (well under the pool size, which REST and sockets share). */
const MAX_CONCURRENT_FLUSHES = 2;

/**
 * The one path that stores chat messages. Sends queue up while earlier batches
 * are in flight and are committed together (group commit), so a busy service
 * writes many messages per commit and an idle one commits each at once. Every
 * sender learns its sequence number only after the commit.
 *
 * Sequence numbers are gapless and in commit order, across instances too: each
 * batch locks its conversations' rows (in id order, so writers never deadlock),
 * reads `last_seq` after the lock, and hands out the next numbers under it.
 */
@Injectable()
export class MessageWriter implements OnApplicationShutdown {
  private readonly logger = new Logger(MessageWriter.name);
  private queue: Pending[] = [];
  private readonly flushing = new Set<Promise<void>>();
  /** Broadcasts in sequence order per conversation, whichever batch's reply is read first. */
  private readonly broadcasts = new OrderedRelease<MessageView>((messages) =>
    this.events.emit(CONVERSATION_EVENTS.messagesCreated, { messages } satisfies MessagesCreatedEvent),
  );

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
    const ordering = this.broadcasts.start(batch.map((p) => p.request.conversationId));
    let outcomes: Array<SendResult | DomainException>;
    try {
      outcomes = await this.write(batch);
    } catch (err) {
      ordering.finish([]);
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
    ordering.finish(created);
  }

  /**
   * One statement, committed on its own: append_chat_messages (see its migration)
   * locks the conversations, finds resends, numbers and inserts the rest. The
   * promise settles after PostgreSQL reports the commit.
   */
  private async write(batch: Pending[]): Promise<Array<SendResult | DomainException>> {
    // The same resend twice in one batch goes in once; the twin shares its answer.
    const firstIndex = new Map<string, number>();
    const unique: Pending[] = [];
    const slot = batch.map((pending) => {
      const { conversationId, sender, clientMessageId } = pending.request;
      const key = dedupeKey(conversationId, sender.id, clientMessageId);
      const seen = firstIndex.get(key);
      if (seen !== undefined) return { index: seen, twin: true };
      firstIndex.set(key, unique.length);
      unique.push(pending);
      return { index: unique.length - 1, twin: false };
    });

    const now = this.clock.now();
    const rows = await this.dataSource.query<AppendRow[]>(
      'SELECT * FROM append_chat_messages($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz)',
      [
        unique.map((p) => p.request.conversationId),
        unique.map((p) => p.request.sender.kind),
        unique.map((p) => p.request.sender.id),
        unique.map((p) => p.request.clientMessageId),
        unique.map((p) => p.request.body),
        now,
      ],
    );
    const results = rows.map((row, i): SendResult | DomainException => {
      const { request } = unique[i];
      switch (row.outcome) {
        case 'not_found':
          return new DomainException('CONVERSATION_NOT_FOUND', 'No such conversation, or not yours to write in');
        case 'closed':
          return new DomainException('CONVERSATION_CLOSED', 'This conversation is closed');
        default:
          return {
            message: {
              id: row.message_id!,
              conversationId: request.conversationId,
              seq: row.seq!,
              sender: { kind: request.sender.kind, id: request.sender.id },
              body: row.outcome === 'duplicate' ? row.body! : request.body,
              clientMessageId: request.clientMessageId,
              createdAt: row.created_at!.toISOString(),
            },
            duplicate: row.outcome === 'duplicate',
          };
      }
    });
    return slot.map(({ index, twin }) => {
      const result = results[index];
      return twin && !(result instanceof DomainException) ? { ...result, duplicate: true } : result;
    });
  }
}

interface AppendRow {
  ord: number;
  outcome: 'new' | 'duplicate' | 'closed' | 'not_found';
  message_id: string | null;
  seq: number | null;
  created_at: Date | null;
  body: string | null;
}

function dedupeKey(conversationId: string, senderId: string, clientMessageId: string): string {
  return `${conversationId}\u0000${senderId}\u0000${clientMessageId}`;
}
