import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { Readable } from 'node:stream';
import { ConsentGate } from '../consent/consent.gate';
import { CONVERSATION_EVENTS, type ConversationChangedEvent } from '../conversations/conversation.events';
import type { ConversationView } from '../conversations/conversation.views';
import { ConversationsService } from '../conversations/conversations.service';
import { ArtifactsService } from './artifacts.service';
import { safeErrorText } from '../logging/logger';

/** A transcript is written by the service itself; far above any real chat. */
const TRANSCRIPT_MAX_BYTES = 512 * 1024 * 1024;
const SYSTEM = { kind: 'system' as const, id: null, role: null };

/**
 * When a chat closes, its transcript is kept (R3.1, purpose support) as JSON
 * and as plain text; a copy for quality review (purpose chat_recording) only
 * when the customer granted that for this chat or as a standing choice
 * (R3.4). Both are written through the one door, streamed a page of messages
 * at a time.
 */
@Injectable()
export class ChatTranscriptsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ChatTranscriptsService.name);
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly artifacts: ArtifactsService,
    private readonly conversations: ConversationsService,
    private readonly gate: ConsentGate,
  ) {}

  @OnEvent(CONVERSATION_EVENTS.closed, { async: true, promisify: true })
  onClosed({ conversation }: ConversationChangedEvent): Promise<void> {
    if (conversation.channel !== 'chat') return Promise.resolve();
    const work = this.write(conversation)
      .catch((err: unknown) => this.logger.error(`transcript of a closed chat not written: ${safeErrorText(err)}`))
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
    return work;
  }

  /** Transcripts being written finish before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async write(conversation: ConversationView): Promise<void> {
    for (const format of ['json', 'text'] as const) {
      await this.capture(conversation, 'support', format);
    }
    // Asked at the moment of writing: a withdrawal before the close means no copy.
    const quality = await this.gate.check(conversation.customerId, 'chat_recording', { conversationId: conversation.id });
    if (quality.allowed) await this.capture(conversation, 'chat_recording', 'json');
  }

  private capture(conversation: ConversationView, purpose: 'support' | 'chat_recording', format: 'json' | 'text') {
    return this.artifacts.capture({
      kind: 'chat_transcript',
      purpose,
      conversationId: conversation.id,
      capturedBy: SYSTEM,
      body: Readable.from(format === 'json' ? this.json(conversation) : this.text(conversation)),
      fileName: `transcript-${conversation.id}.${format === 'json' ? 'json' : 'txt'}`,
      // Once per conversation, format and purpose: a second close event writes nothing twice.
      sourceRef: `${conversation.id}#${format}`,
      maxBytes: TRANSCRIPT_MAX_BYTES,
      attributes: { format, messageCount: conversation.messageCount },
    });
  }

  private async *json(c: ConversationView): AsyncGenerator<Buffer> {
    const header = {
      conversationId: c.id,
      channel: c.channel,
      customerId: c.customerId,
      agentId: c.assignedAgentId,
      openedAt: c.openedAt,
      closedAt: c.closedAt,
    };
    yield Buffer.from(`${JSON.stringify(header).slice(0, -1)},"messages":[`);
    let first = true;
    for await (const m of this.conversations.allMessages(c.id)) {
      const line = JSON.stringify({ seq: m.seq, sender: m.sender, body: m.body, createdAt: m.createdAt });
      yield Buffer.from(first ? line : `,${line}`);
      first = false;
    }
    yield Buffer.from(']}\n');
  }

  private async *text(c: ConversationView): AsyncGenerator<Buffer> {
    yield Buffer.from(`Chat ${c.id}\nOpened ${c.openedAt}, closed ${c.closedAt ?? '-'}\n\n`);
    for await (const m of this.conversations.allMessages(c.id)) {
      yield Buffer.from(`[${m.createdAt}] ${m.sender.kind}: ${m.body.replace(/\r?\n/g, '\n    ')}\n`);
    }
  }
}
