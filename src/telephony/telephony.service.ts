import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DirectoryService } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import type { Readable } from 'node:stream';
import type { ArtifactView } from '../artifacts/artifact.views';
import { ArtifactsService } from '../artifacts/artifacts.service';
import { ConsentGate } from '../consent/consent.gate';
import { CONSENT_EVENTS, type ConsentWithdrawnEvent } from '../consent/consent.events';
import { ConsentService } from '../consent/consent.service';
import type { EventRow } from '../consent/consent.views';
import { CONVERSATION_EVENTS, type ConversationChangedEvent, type RecordingStopEvent } from '../conversations/conversation.events';
import type { ConversationRow } from '../conversations/conversation.views';
import { ConversationsService } from '../conversations/conversations.service';
import type { TelephonyEventDto } from './dto/telephony-event.dto';
import { hashPhoneNumber, maskPhoneNumber } from './telephony-signature';
import { safeErrorText } from '../logging/logger';
import { lockUntilCommit } from '../database/advisory-locks';

interface CallRow {
  id: string;
  conversation_id: string;
  provider_call_id: string;
  started_at: Date;
  answered_at: Date | null;
  ended_at: Date | null;
  recording_state: string;
}

export interface RecordingPermission {
  callId: string;
  conversationId: string;
  purpose: string;
  decision: 'allow' | 'deny';
  /** consent_granted, or why not: not_asked, denied, withdrawn, call_ended, purpose_inactive. */
  reason: string;
  /** The ledger event that allows it (store it with the recording). */
  consentEventId: string | null;
  checkedAt: string;
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
    private readonly consent: ConsentService,
    private readonly gate: ConsentGate,
    private readonly artifacts: ArtifactsService,
  ) {}

  private readonly logger = new Logger(TelephonyService.name);

  async handle(event: TelephonyEventDto): Promise<{ status: 'accepted' | 'duplicate' }> {
    const emits: Emit[] = [];
    const decisions: EventRow[] = [];
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
        case 'consent.keypress':
          decisions.push(await this.keypress(manager, event));
          break;
      }
      return 'accepted' as const;
    });
    for (const { event: name, conversationId, previousAgentId } of emits) {
      const changed: ConversationChangedEvent = { conversation: await this.conversations.viewById(conversationId), previousAgentId };
      this.events.emit(name, changed);
    }
    for (const decision of decisions) this.consent.announce(decision);
    return { status };
  }

  /**
   * R3.4: asked by the phone system before it records, and again for every
   * segment: allowed only while the caller's consent for this call holds.
   */
  async recordingPermission(providerCallId: string, purpose = 'call_recording'): Promise<RecordingPermission> {
    const rows = await this.dataSource.query<CallRow[]>(`SELECT * FROM calls WHERE provider_call_id = $1`, [providerCallId]);
    const call = rows[0];
    if (!call) throw new DomainException('CALL_NOT_FOUND', 'No call with this id has started');
    const base = { callId: providerCallId, conversationId: call.conversation_id, purpose, checkedAt: this.clock.now().toISOString() };
    if (call.ended_at) return { ...base, decision: 'deny', reason: 'call_ended', consentEventId: null };
    const [{ customer_id: customerId }] = await this.dataSource.query<{ customer_id: string }[]>(`SELECT customer_id FROM conversations WHERE id = $1`, [
      call.conversation_id,
    ]);
    // Read from the ledger itself, never from a cache: a withdrawal anywhere counts for the very next segment.
    const check = await this.gate.read(customerId, purpose, call.conversation_id);
    if (check.allowed) {
      return { ...base, decision: 'allow', reason: check.reason === 'contract' ? 'contract' : 'consent_granted', consentEventId: check.basis.event?.id ?? null };
    }
    if (check.reason === 'unknown_purpose') throw new DomainException('PURPOSE_NOT_FOUND', `There is no purpose "${purpose}"`);
    return { ...base, decision: 'deny', reason: check.reason, consentEventId: null };
  }

  /**
   * A recording segment or a transcript from the phone system, stored through
   * the one door only while the caller's consent holds (R3.4): read from the
   * ledger itself for every segment, so one that starts after a withdrawal
   * is refused and nothing of it is kept.
   */
  async captureFromCall(input: {
    providerCallId: string;
    kind: 'call_recording' | 'call_transcript';
    body: Readable;
    sha256: string;
    contentLength?: number;
    attributes: Record<string, unknown>;
  }): Promise<ArtifactView> {
    const purpose = input.kind === 'call_recording' ? 'call_recording' : 'transcription';
    const rows = await this.dataSource.query<Array<CallRow & { customer_id: string }>>(
      `SELECT c.*, v.customer_id FROM calls c JOIN conversations v ON v.id = c.conversation_id WHERE c.provider_call_id = $1`,
      [input.providerCallId],
    );
    const call = rows[0];
    if (!call) throw new DomainException('CALL_NOT_FOUND', 'No call with this id has started');
    const artifact = await this.artifacts.capture({
      kind: input.kind,
      purpose,
      conversationId: call.conversation_id,
      capturedBy: { kind: 'telephony', id: null, role: null },
      body: input.body,
      contentLength: input.contentLength,
      maxBytes: this.config.capture.recordingMaxBytes,
      // Read from the ledger for every segment, never from memory: one that starts after a withdrawal is refused.
      freshConsent: true,
      expectedSha256: input.sha256,
      sourceRef: `${input.providerCallId}#${input.kind === 'call_recording' ? `segment-${String(input.attributes.segment)}` : 'transcript'}`,
      attributes: { providerCallId: input.providerCallId, ...input.attributes },
    });
    if (input.kind === 'call_recording') {
      await this.dataSource.query(`UPDATE calls SET recording_state = 'recording' WHERE id = $1 AND ended_at IS NULL AND recording_state = 'none'`, [call.id]);
    }
    return artifact;
  }

  /** The caller's key press, in the webhook's transaction (replays change nothing). */
  private async keypress(manager: EntityManager, event: TelephonyEventDto): Promise<EventRow> {
    const consent = event.consent!;
    const call = await this.callFor(manager, event.call.id);
    if (consent.decision === 'grant' && call.ended_at) throw new DomainException('CONFLICT', 'This call has ended; a grant can no longer apply to it');
    const [{ customer_id: customerId }] = await manager.query<{ customer_id: string }[]>(`SELECT customer_id FROM conversations WHERE id = $1`, [
      call.conversation_id,
    ]);
    return this.consent.recordKeypress(manager, {
      customerId,
      conversationId: call.conversation_id,
      purpose: consent.purpose,
      decision: consent.decision,
      textHash: consent.textHash,
      evidence: { digit: consent.digit, providerCallId: call.provider_call_id, telephonyEventId: event.id },
      occurredAt: new Date(event.occurredAt),
    });
  }

  /**
   * A withdrawal of call recording or transcription (by key press, in the chat
   * or on the privacy page) stops what it covers on every live call at once
   * (R3.4): the agent's console is told `recording.stop` with the purpose, and
   * a recording call is marked stopped.
   */
  @OnEvent(CONSENT_EVENTS.withdrawn, { async: true, promisify: true })
  async onWithdrawn({ event }: ConsentWithdrawnEvent): Promise<void> {
    if (event.purpose !== 'call_recording' && event.purpose !== 'transcription') return;
    try {
      const [stopped] = await this.dataSource.query<[Array<{ conversation_id: string; provider_call_id: string }>, number]>(
        `UPDATE calls c SET recording_state = CASE WHEN $3 = 'call_recording' AND c.recording_state = 'recording' THEN 'stopped' ELSE c.recording_state END
           FROM conversations v
          WHERE v.id = c.conversation_id AND v.customer_id = $1 AND ($2::uuid IS NULL OR c.conversation_id = $2)
            AND c.ended_at IS NULL
          RETURNING c.conversation_id, c.provider_call_id`,
        [event.customerId, event.conversationId, event.purpose],
      );
      for (const call of stopped) {
        this.events.emit(CONVERSATION_EVENTS.recordingStop, {
          conversationId: call.conversation_id,
          callId: call.provider_call_id,
          purpose: event.purpose,
          reason: 'consent_withdrawn',
          consentEventId: event.id,
          at: event.occurredAt,
        } satisfies RecordingStopEvent);
      }
    } catch (err) {
      this.logger.error(`could not stop recordings after a withdrawal: ${safeErrorText(err)}`);
    }
  }

  /** A call creates the customer's open call conversation, or joins it. */
  private async started(manager: EntityManager, event: TelephonyEventDto, emits: Emit[]): Promise<void> {
    const call = event.call;
    if (!call.direction) throw new DomainException('VALIDATION_FAILED', 'call.started needs call.direction');
    const customerId = await this.customerFor(manager, event);
    // Two calls of one customer starting at once must not open two call conversations.
    await lockUntilCommit(manager, `call-conversation:${customerId}`);
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
    if (!rows[0]) throw new DomainException('CALL_NOT_FOUND', 'No call with this id has started');
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
