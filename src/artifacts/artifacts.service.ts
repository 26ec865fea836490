import { Inject, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { auditActor, AuditService, type AuditEntry } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { ConsentGate, type ConsentBasis } from '../consent/consent.gate';
import { CONVERSATION_EVENTS, type ConversationChangedEvent } from '../conversations/conversation.events';
import { ConversationsService } from '../conversations/conversations.service';
import type { Participant } from '../directory/directory.service';
import { DomainException } from '../errors/domain.exception';
import { RetentionPoliciesService } from '../retention/retention-policies.service';
import { BLOB_STORE, type BlobStore } from '../storage/blob-store';
import type { ArtifactKind } from './artifact.entity';
import { toArtifactView, type ArtifactRow, type ArtifactView } from './artifact.views';
import { inspectContent, sanitizeFileName, SizeLimit } from './content-inspection';

export interface Capturer {
  kind: 'customer' | 'staff' | 'system' | 'telephony';
  id: string | null;
  role: string | null;
}

export interface CaptureInput {
  kind: ArtifactKind;
  purpose: string;
  conversationId: string;
  capturedBy: Capturer;
  body: Readable;
  fileName?: string | null;
  /** When the client declared it: S3 then takes one streamed request. */
  contentLength?: number;
  maxBytes: number;
  /** A basis already established (a redeemed upload token); otherwise the gate is asked. */
  basis?: ConsentBasis;
  attributes?: Record<string, unknown>;
  /** The SHA-256 the sender signed: the stored bytes must match it, or nothing is kept. */
  expectedSha256?: string;
}

interface ConversationFacts {
  customer_id: string;
  closed_at: Date | null;
}

/**
 * The one door for captured bytes (design invariants 1, 2, 5): ask the gate,
 * write the row `pending`, stream the bytes to the store with purpose and
 * retention in the object's metadata, then mark the row `stored`. Whatever
 * fails on the way, what was written is removed again. Reads state a purpose
 * (R1.3) and every read, capture and refusal goes to the audit trail.
 */
@Injectable()
export class ArtifactsService {
  private readonly logger = new Logger(ArtifactsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    private readonly gate: ConsentGate,
    private readonly policies: RetentionPoliciesService,
    private readonly conversations: ConversationsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async capture(input: CaptureInput): Promise<ArtifactView> {
    const id = randomUUID();
    const audit = (outcome: AuditEntry['outcome'], details: Record<string, unknown>) =>
      this.audit.record({
        actor: input.capturedBy,
        action: 'artifact.capture',
        target: { type: 'artifact', id },
        purpose: input.purpose,
        outcome,
        details: { kind: input.kind, conversationId: input.conversationId, ...details },
      });
    let rowWritten = false;
    let key: string | null = null;
    try {
      const conversation = await this.conversationFacts(input.conversationId);
      // R3.2, R3.4: no basis, no byte stored.
      const basis = input.basis ?? (await this.gate.require(conversation.customer_id, input.purpose, { conversationId: input.conversationId }));
      if (basis.purpose !== input.purpose) throw new DomainException('PURPOSE_MISMATCH', 'The basis given is for another purpose');
      const fileName = sanitizeFileName(input.fileName);
      const inspected = await inspectContent(input.body, fileName);
      const capturedAt = this.clock.now();
      const retainUntil = await this.policies.retainUntil(basis.retentionTag, capturedAt, conversation.closed_at);
      key = `${input.purpose}/${id.slice(0, 2)}/${id}`;
      await this.dataSource.query(
        `INSERT INTO artifacts (id, kind, conversation_id, customer_id, purpose, legal_basis, consent_event_id, retention_tag, retain_until,
                                state, storage_key, file_name, attributes, captured_by_kind, captured_by_id, captured_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13, $14, $15)`,
        [
          id,
          input.kind,
          input.conversationId,
          conversation.customer_id,
          input.purpose,
          basis.legalBasis,
          basis.event?.id ?? null,
          basis.retentionTag,
          retainUntil,
          key,
          fileName,
          JSON.stringify(input.attributes ?? {}),
          input.capturedBy.kind,
          input.capturedBy.id,
          capturedAt,
        ],
      );
      rowWritten = true;
      const limit = new SizeLimit(input.maxBytes);
      // pipe() does not pass errors on: a failed source (client gone, too large) must fail the upload too.
      inspected.body.once('error', (err) => limit.destroy(err));
      const put = await this.store.put(key, inspected.body.pipe(limit), {
        contentType: inspected.contentType,
        contentLength: input.contentLength,
        metadata: {
          'artifact-id': id,
          purpose: input.purpose,
          'legal-basis': basis.legalBasis,
          'retention-tag': basis.retentionTag,
          'retain-until': retainUntil.toISOString(),
        },
      });
      if (input.expectedSha256 && put.sha256 !== input.expectedSha256) {
        throw new DomainException('INVALID_SIGNATURE', 'The body is not the one that was signed (SHA-256 differs)');
      }
      const [stored] = await this.dataSource.query<[ArtifactRow[], number]>(
        `UPDATE artifacts SET state = 'stored', size = $2, sha256 = $3, content_type = $4, stored_at = $5
          WHERE id = $1 AND state = 'pending' RETURNING *`,
        [id, put.size, put.sha256, inspected.contentType, this.clock.now()],
      );
      if (!stored[0]) throw new DomainException('CONFLICT', 'The capture was cancelled while it was being stored');
      await audit('allowed', { size: put.size });
      return toArtifactView(stored[0]);
    } catch (err) {
      input.body.destroy();
      if (rowWritten) await this.undo(id, key!);
      await audit('refused', { code: err instanceof DomainException ? err.code : 'INTERNAL_ERROR' }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Removes what a failed capture wrote: the object (a failed put normally
   * leaves none; a half-written one must not stay), then the row. If the store
   * cannot be reached the row stays `pending` for cleanupStalePending().
   */
  private async undo(id: string, key: string): Promise<void> {
    try {
      const result = await this.store.deleteMany([key]);
      if (result.failed.length > 0) throw new Error(result.failed[0].reason);
      await this.dataSource.query(`DELETE FROM artifacts WHERE id = $1 AND state = 'pending'`, [id]);
    } catch (err) {
      this.logger.warn(`capture ${id} left pending, its object could not be checked: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Who may add a file to a conversation: its customer, or the agent handling it, while it is open. */
  async assertCanAttach(viewer: Participant, conversationId: string): Promise<void> {
    const conversation = await this.conversations.get(viewer, conversationId);
    if (viewer.kind === 'staff' && conversation.assignedAgentId !== viewer.id) {
      throw new DomainException('FORBIDDEN', 'Take the conversation first to add files to it');
    }
    if (conversation.status !== 'open') throw new DomainException('CONVERSATION_CLOSED', 'This conversation is closed');
  }

  /** Rows left `pending` by a crash or an unreachable store: their objects removed, then the rows. */
  async cleanupStalePending(olderThanMs: number, limit = 500): Promise<{ removed: number; kept: number }> {
    const before = new Date(this.clock.now().getTime() - olderThanMs);
    const rows = await this.dataSource.query<Array<{ id: string; storage_key: string }>>(
      `SELECT id, storage_key FROM artifacts WHERE state = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [before, limit],
    );
    if (rows.length === 0) return { removed: 0, kept: 0 };
    const result = await this.store.deleteMany(rows.map((r) => r.storage_key));
    const gone = new Set(result.deleted);
    const removable = rows.filter((r) => gone.has(r.storage_key)).map((r) => r.id);
    if (removable.length > 0) await this.dataSource.query(`DELETE FROM artifacts WHERE id = ANY($1) AND state = 'pending'`, [removable]);
    return { removed: removable.length, kept: rows.length - removable.length };
  }

  /** Metadata of one artifact, for whoever may see its conversation; the stated purpose must be its own. */
  async describe(viewer: Participant, id: string, purpose: string, reason?: string): Promise<ArtifactView> {
    const row = await this.readable(viewer, id, purpose, reason, 'artifact.describe');
    return toArtifactView(row);
  }

  /** R1.3: content only for its own purpose, to those who may read it; every read audited. */
  async open(viewer: Participant, id: string, purpose: string, reason?: string): Promise<{ artifact: ArtifactView; body: Readable }> {
    const row = await this.readable(viewer, id, purpose, reason, 'artifact.read');
    const { body } = await this.store.get(row.storage_key!);
    return { artifact: toArtifactView(row), body };
  }

  /** The artifacts of one purpose in a conversation (listing states a purpose too). */
  async list(viewer: Participant, conversationId: string, purpose: string, reason?: string): Promise<ArtifactView[]> {
    await this.conversations.get(viewer, conversationId);
    this.requireContentAccess(viewer, reason);
    if (viewer.kind === 'staff' && !viewer.roles.includes('admin')) await this.requireHandling(viewer, conversationId, reason);
    const rows = await this.dataSource.query<ArtifactRow[]>(
      `SELECT * FROM artifacts WHERE conversation_id = $1 AND purpose = $2 AND state = 'stored' ORDER BY captured_at, id LIMIT 500`,
      [conversationId, purpose],
    );
    await this.audit.record({
      actor: auditActor(viewer),
      action: 'artifact.list',
      target: { type: 'conversation', id: conversationId },
      purpose,
      reason: reason ?? null,
      outcome: 'allowed',
      details: { count: rows.length },
    });
    return rows.map(toArtifactView);
  }

  private async readable(viewer: Participant, id: string, purpose: string, reason: string | undefined, action: string): Promise<ArtifactRow> {
    const rows = await this.dataSource.query<ArtifactRow[]>(`SELECT * FROM artifacts WHERE id = $1`, [id]);
    const row = rows[0];
    const notFound = () => new DomainException('ARTIFACT_NOT_FOUND', 'No such artifact');
    if (!row) throw notFound();
    try {
      await this.conversations.get(viewer, row.conversation_id);
    } catch {
      throw notFound();
    }
    const refuse = async (err: DomainException) => {
      await this.audit.record({
        actor: auditActor(viewer),
        action,
        target: { type: 'artifact', id },
        purpose,
        reason: reason ?? null,
        outcome: 'refused',
        details: { code: err.code },
      });
      return err;
    };
    try {
      this.requireContentAccess(viewer, reason);
      if (viewer.kind === 'customer' && row.customer_id !== viewer.id) throw notFound();
      if (viewer.kind === 'staff' && !viewer.roles.includes('admin')) await this.requireHandling(viewer, row.conversation_id, reason);
      if (purpose !== row.purpose) {
        throw new DomainException('PURPOSE_MISMATCH', `This item was stored for "${row.purpose}" and may not be read for "${purpose}" (R1.3)`);
      }
      if (row.state !== 'stored') throw new DomainException('ARTIFACT_NOT_AVAILABLE', `This item is ${row.state}`);
    } catch (err) {
      throw err instanceof DomainException ? await refuse(err) : err;
    }
    await this.audit.record({
      actor: auditActor(viewer),
      action,
      target: { type: 'artifact', id },
      purpose,
      reason: reason ?? null,
      outcome: 'allowed',
      details: { kind: row.kind },
    });
    return row;
  }

  /** A privacy officer reads content only with a stated reason (logged); other staff only what they handle. */
  private requireContentAccess(viewer: Participant, reason: string | undefined): void {
    if (viewer.kind !== 'staff') return;
    const officerOnly = viewer.roles.includes('privacy_officer') && !viewer.roles.includes('agent') && !viewer.roles.includes('admin');
    if (officerOnly && !reason?.trim()) throw new DomainException('REASON_REQUIRED', 'A privacy officer states a reason to read content');
  }

  private async requireHandling(viewer: Participant & { kind: 'staff' }, conversationId: string, reason: string | undefined): Promise<void> {
    if (viewer.roles.includes('privacy_officer') && reason?.trim()) return;
    const view = await this.conversations.get(viewer, conversationId);
    if (view.assignedAgentId !== viewer.id) throw new DomainException('FORBIDDEN', 'Only the agent handling the conversation reads its content');
  }

  /** R10.1: items whose clock starts at the close get their final retain_until now. */
  @OnEvent(CONVERSATION_EVENTS.closed, { async: true, promisify: true })
  async onConversationClosed({ conversation }: ConversationChangedEvent): Promise<void> {
    try {
      await this.dataSource.query(
        `UPDATE artifacts a SET retain_until = c.closed_at + p.duration::interval
           FROM retention_policies p, conversations c
          WHERE a.conversation_id = $1 AND c.id = a.conversation_id AND c.closed_at IS NOT NULL
            AND p.tag = a.retention_tag AND p.starts = 'conversation_closed' AND a.state IN ('pending', 'stored')`,
        [conversation.id],
      );
    } catch (err) {
      this.logger.error(`retain_until not updated at close: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async conversationFacts(conversationId: string): Promise<ConversationFacts> {
    const rows = await this.dataSource.query<ConversationFacts[]>(`SELECT customer_id, closed_at FROM conversations WHERE id = $1`, [conversationId]);
    if (!rows[0]) throw new DomainException('CONVERSATION_NOT_FOUND', 'No such conversation');
    return rows[0];
  }
}
