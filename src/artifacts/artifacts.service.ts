import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { DataSource, EntityManager } from 'typeorm';
import { auditActor, AuditService, type AuditEntry } from '../audit/audit.service';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { ConsentGate, refusalOf, type ConsentBasis } from '../consent/consent.gate';
import { UploadTokenRefused, UploadTokensService } from '../consent/upload-tokens.service';
import { ConversationsService } from '../conversations/conversations.service';
import type { Participant } from '../directory/directory.service';
import { DomainException, RetryLaterException } from '../errors/domain.exception';
import { DEFAULT_LOCALE, type TextLocale } from '../i18n/locale';
import { message } from '../i18n/messages';
import { heldCondition } from '../retention/legal-holds.service';
import { RetentionPoliciesService } from '../retention/retention-policies.service';
import { BLOB_STORE, type BlobStore } from '../storage/blob-store';
import type { ArtifactKind } from './artifact.entity';
import { toArtifactView, type ArtifactRow, type ArtifactView } from './artifact.views';
import { inspectContent, sanitizeFileName, SizeLimit } from './content-inspection';
import { safeErrorText } from '../logging/logger';
import { lockUntilCommit } from '../database/advisory-locks';

export interface PurgeCandidate {
  id: string;
  storage_key: string | null;
  kind: string;
  purpose: string;
  retention_tag: string;
  size: string | null;
}

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
  /** What this is a capture of, when it may arrive twice (see ArtifactEntity.sourceRef). */
  sourceRef?: string;
  /** Runs in the transaction that marks the row stored (e.g. using up the upload token). */
  finalize?: (manager: EntityManager) => Promise<void>;
  /** Ask the ledger itself rather than the gate's memory (the phone system, per segment). */
  freshConsent?: boolean;
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
/**
 * The SQL condition "this artifact (alias) is due at $n": marked to go now
 * (a withdrawal), or past its retain_until, unless its clock starts at a
 * close that has not come yet (its retain_until is provisional until then,
 * R10.1). Legal holds are a separate condition.
 */
function dueCondition(alias: string, nowParam: string): string {
  return `(${alias}.purge_reason IS NOT NULL OR (${alias}.retain_until <= ${nowParam} AND NOT ${awaitingClose(alias)}))`;
}

/** "Its clock starts at a close that has not come yet." */
function awaitingClose(alias: string): string {
  return `EXISTS (SELECT 1 FROM conversations oc JOIN retention_policies op ON op.tag = ${alias}.retention_tag
     WHERE oc.id = ${alias}.conversation_id AND oc.closed_at IS NULL AND op.starts = 'conversation_closed')`;
}

interface Reservation {
  bytes: number;
  /** When the oldest upload counted leaves the 24 hours. */
  freesInSeconds: number;
}

/** What a customer's side uploads; the phone system's recordings are not theirs to limit. */
const QUOTA_KINDS: ReadonlySet<ArtifactKind> = new Set(['attachment', 'diagnostics_bundle']);

const quotaExceeded = (retryAfterSeconds: number) =>
  new RetryLaterException('UPLOAD_QUOTA_EXCEEDED', 'This customer has uploaded as much as is allowed in 24 hours; try again later', retryAfterSeconds);

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
    private readonly uploadTokens: UploadTokensService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async capture(input: CaptureInput): Promise<ArtifactView> {
    const id = randomUUID();
    const audit = (outcome: AuditEntry['outcome'], details: Record<string, unknown>, manager?: EntityManager) =>
      this.audit.record(
        {
          actor: input.capturedBy,
          action: 'artifact.capture',
          target: { type: 'artifact', id },
          purpose: input.purpose,
          outcome,
          details: { kind: input.kind, conversationId: input.conversationId, ...details },
        },
        manager,
      );
    let rowWritten = false;
    let key: string | null = null;
    try {
      const conversation = await this.conversationFacts(input.conversationId);
      if (input.sourceRef) {
        const existing = await this.bySourceRef(input.kind, input.purpose, input.sourceRef);
        if (existing) {
          // A retry of what is already stored answers with it; anything else is a conflict.
          if (existing.state === 'stored' && input.expectedSha256 && existing.sha256 === input.expectedSha256) {
            release(input.body);
            return toArtifactView(existing);
          }
          throw new DomainException('CONFLICT', 'This has been captured already');
        }
      }
      // R3.2, R3.4: no basis, no byte stored.
      const basis = input.basis ?? (await this.basisFor(conversation.customer_id, input.purpose, input.conversationId, input.freshConsent === true));
      if (basis.purpose !== input.purpose) throw new DomainException('PURPOSE_MISMATCH', 'The basis given is for another purpose');
      const fileName = sanitizeFileName(input.fileName);
      const inspected = await inspectContent(input.body, fileName, input.kind === 'diagnostics_bundle' ? 'diagnostics' : 'default');
      const capturedAt = this.clock.now();
      key = `${input.purpose}/${id.slice(0, 2)}/${id}`;
      let retainUntil!: Date;
      let reserved: Reservation | undefined;
      try {
        // The policy row is held until the row is in: a policy change either sees this row or comes after it.
        await this.dataSource.transaction(async (manager) => {
          retainUntil = await this.policies.retainUntil(basis.retentionTag, capturedAt, conversation.closed_at, manager, true);
          if (QUOTA_KINDS.has(input.kind)) reserved = await this.reserveUpload(manager, conversation.customer_id, { declared: input.contentLength, max: input.maxBytes }, capturedAt);
          await manager.query(
            `INSERT INTO artifacts (id, kind, conversation_id, customer_id, purpose, legal_basis, consent_event_id, retention_tag, retain_until,
                                    state, storage_key, file_name, source_ref, attributes, captured_by_kind, captured_by_id, captured_at, reserved_bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13, $14, $15, $16, $17)`,
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
              input.sourceRef ?? null,
              JSON.stringify(input.attributes ?? {}),
              input.capturedBy.kind,
              input.capturedBy.id,
              capturedAt,
              reserved?.bytes ?? null,
            ],
          );
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new DomainException('CONFLICT', 'This is being captured already');
        throw err;
      }
      rowWritten = true;
      const quota = reserved;
      const limit = quota && quota.bytes < input.maxBytes ? new SizeLimit(quota.bytes, () => quotaExceeded(quota.freesInSeconds)) : new SizeLimit(input.maxBytes);
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
      if (basis.legalBasis === 'consent') {
        // R3.4, R6.5: a withdrawal while the bytes were arriving wins; read from the ledger itself.
        const still = await this.gate.read(conversation.customer_id, input.purpose, input.conversationId);
        if (!still.allowed) throw new DomainException('CONSENT_REQUIRED', `The consent for "${input.purpose}" was withdrawn during the upload`);
      }
      // Stored, its audit event and the caller's own last step (a token used up) commit together, or none does.
      const stored = await this.dataSource.transaction(async (manager) => {
        const [rows] = await manager.query<[ArtifactRow[], number]>(
          `UPDATE artifacts SET state = 'stored', size = $2, sha256 = $3, content_type = $4, stored_at = $5, reserved_bytes = NULL
            WHERE id = $1 AND state = 'pending' RETURNING *`,
          [id, put.size, put.sha256, inspected.contentType, this.clock.now()],
        );
        if (!rows[0]) throw new DomainException('CONFLICT', 'The capture was cancelled while it was being stored');
        await input.finalize?.(manager);
        await audit('allowed', { size: put.size }, manager);
        return rows[0];
      });
      return toArtifactView(stored);
    } catch (err) {
      release(input.body);
      if (rowWritten) await this.undo(id, key!);
      await audit('refused', { code: err instanceof DomainException ? err.code : 'INTERNAL_ERROR' }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Takes the bytes a new upload may need (its declared length, else its
   * largest size) from the customer's daily quota
   * (CUSTOMER_UPLOAD_MB_PER_DAY, any 24 hours): stored sizes, purged ones
   * included (uploading and withdrawing does not refill it), and what pending
   * uploads reserved. Under a lock per customer, so uploads running at once
   * cannot each see the whole remainder.
   */
  private async reserveUpload(manager: EntityManager, customerId: string, size: { declared?: number; max: number }, now: Date): Promise<Reservation> {
    await lockUntilCommit(manager, `upload-quota:${customerId}`);
    const day = 24 * 3600 * 1000;
    const [{ used, oldest }] = await manager.query<{ used: string; oldest: Date | null }[]>(
      `SELECT coalesce(sum(coalesce(size, reserved_bytes, 0)), 0)::bigint AS used, min(captured_at) AS oldest
         FROM artifacts WHERE customer_id = $1 AND captured_at > $2 AND kind = ANY($3)`,
      [customerId, new Date(now.getTime() - day), [...QUOTA_KINDS]],
    );
    const left = this.config.limits.customerUploadBytesPerDay - Number(used);
    // The quota frees up as the oldest counted upload leaves the 24 hours.
    const freesInSeconds = oldest ? (oldest.getTime() + day - now.getTime()) / 1000 : day / 1000;
    // A declared length that does not fit is refused before a byte is read; an unknown one takes what is left.
    if (left <= 0 || (size.declared !== undefined && size.declared > left)) throw quotaExceeded(freesInSeconds);
    return { bytes: Math.min(size.declared ?? size.max, left), freesInSeconds };
  }

  private async basisFor(customerId: string, purpose: string, conversationId: string, fresh: boolean): Promise<ConsentBasis> {
    if (!fresh) return this.gate.require(customerId, purpose, { conversationId });
    const check = await this.gate.read(customerId, purpose, conversationId);
    if (check.allowed) return check.basis;
    throw refusalOf(check, purpose);
  }

  /** A chat attachment (purpose support) from the conversation's customer or the agent handling it. */
  async attach(viewer: Participant, conversationId: string, upload: () => Promise<{ stream: Readable; fileName: string | null }>, maxBytes: number): Promise<ArtifactView> {
    const actor = auditActor(viewer);
    const file = await this.refusalsAudited(actor, 'artifact.capture', { type: 'conversation', id: conversationId }, 'support', async () => {
      await this.assertCanAttach(viewer, conversationId);
      return upload();
    });
    return this.capture({ kind: 'attachment', purpose: 'support', conversationId, capturedBy: actor, body: file.stream, fileName: file.fileName, maxBytes });
  }

  /**
   * A diagnostics bundle with the single-use token of the customer's grant
   * (R3.2); the token is used up only when the bundle is stored.
   */
  async captureDiagnostics(input: { token: string | undefined; conversationId: string; body: Readable; fileName: string | null; contentLength?: number; maxBytes: number }): Promise<ArtifactView> {
    const redeemed = await (async () => {
      if (!input.token) throw new DomainException('UPLOAD_TOKEN_INVALID', 'Send the upload token from the grant in x-upload-token');
      return this.uploadTokens.check(input.token, { conversationId: input.conversationId, purpose: 'diagnostics' });
    })().catch(async (err: unknown) => {
      release(input.body);
      if (!(err instanceof DomainException)) throw err;
      // A token that was issued (used again, too late, elsewhere) or a consent withdrawn since is audited; a made-up
      // token touched nothing: a log line, not an audit row each (a flood must not grow the append-only trail).
      const issued = err instanceof UploadTokenRefused ? err.issued : undefined;
      if (err.code !== 'UPLOAD_TOKEN_INVALID' || issued) {
        await this.audit
          .record({
            actor: { kind: 'customer', id: null, role: null },
            action: 'artifact.capture',
            target: { type: 'conversation', id: input.conversationId },
            purpose: 'diagnostics',
            outcome: 'refused',
            details: { code: err.code, ...(issued && { uploadTokenId: issued.tokenId, tokenConversationId: issued.conversationId }) },
          })
          .catch(() => undefined);
      } else {
        this.logger.warn(`diagnostics upload refused (${err.code})`);
      }
      throw err;
    });
    return this.capture({
      kind: 'diagnostics_bundle',
      purpose: 'diagnostics',
      conversationId: input.conversationId,
      capturedBy: { kind: 'customer', id: redeemed.customerId, role: 'customer' },
      body: input.body,
      fileName: input.fileName,
      contentLength: input.contentLength,
      maxBytes: input.maxBytes,
      basis: redeemed.basis,
      attributes: { uploadTokenId: redeemed.tokenId },
      finalize: (manager) => this.uploadTokens.consume(manager, redeemed.tokenId),
    });
  }

  /** Runs `work`; a refusal it throws goes to the audit trail before it reaches the caller. */
  private async refusalsAudited<T>(actor: AuditEntry['actor'], action: string, target: AuditEntry['target'], purpose: string, work: () => Promise<T>, reason?: string): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof DomainException) {
        await this.audit.record({ actor, action, target, purpose, reason: reason ?? null, outcome: 'refused', details: { code: err.code } }).catch(() => undefined);
      }
      throw err;
    }
  }

  private async bySourceRef(kind: ArtifactKind, purpose: string, sourceRef: string): Promise<ArtifactRow | undefined> {
    const rows = await this.dataSource.query<ArtifactRow[]>(`SELECT * FROM artifacts WHERE kind = $1 AND purpose = $2 AND source_ref = $3`, [kind, purpose, sourceRef]);
    return rows[0];
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
      this.logger.warn(`capture ${id} left pending, its object could not be checked: ${safeErrorText(err)}`);
    }
  }

  // --- the purge's steps (retention/purge.service.ts drives them) -------------------------

  /**
   * Claims up to `limit` stored items that are due at `now` (past retain_until,
   * or marked to go now) and not under a hold: they become `purging`. Rows
   * another run holds are skipped, so two runs never take the same item.
   */
  async claimForPurge(now: Date, limit: number, runId: string, skip: string[] = []): Promise<PurgeCandidate[]> {
    // Items marked to go now (a withdrawal, an erasure) first, then by retain_until; items that failed earlier in
    // this run are skipped. Two statements, so each walks its own partial index in order and stops at `limit`
    // (one statement ordering by both would sort every due row, batch after batch, on a large backlog).
    const claim = async (where: string, order: string, n: number) => {
      const [rows] = await this.dataSource.query<[PurgeCandidate[], number]>(
        `UPDATE artifacts a SET state = 'purging', purge_run_id = $3
          WHERE a.id IN (
            SELECT d.id FROM artifacts d
             WHERE d.state = 'stored' AND ${where} AND NOT ${heldCondition('d', '$1')} AND d.id <> ALL($4::uuid[])
             ORDER BY ${order} LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING a.id, a.storage_key, a.kind, a.purpose, a.retention_tag, a.size`,
        [now, n, runId, skip],
      );
      return rows;
    };
    const marked = await claim('d.purge_reason IS NOT NULL', 'd.purge_reason', limit);
    if (marked.length >= limit) return marked;
    const expired = await claim(`d.retain_until <= $1 AND d.purge_reason IS NULL AND NOT ${awaitingClose('d')}`, 'd.retain_until', limit - marked.length);
    return [...marked, ...expired];
  }

  /**
   * R10.4, durably: items whose consent a later withdrawal took back, not yet
   * marked (the withdrawal's own reaction may have been lost to a crash, or
   * the item was stored under a grant withdrawn meanwhile), are marked now.
   */
  async markRevokedConsents(): Promise<number> {
    const [rows] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE artifacts a SET purge_reason = 'consent_withdrawn'
         FROM consent_events g
        WHERE a.consent_event_id = g.id AND a.legal_basis = 'consent' AND a.state IN ('pending', 'stored') AND a.purge_reason IS NULL
          AND EXISTS (SELECT 1 FROM consent_events w
                       WHERE w.customer_id = g.customer_id AND w.purpose = g.purpose AND w.type = 'withdrawn' AND w.position > g.position
                         AND (w.scope = 'standing' OR w.conversation_id = a.conversation_id))
        RETURNING a.id`,
    );
    return rows.length;
  }

  /** Items a run claimed but did not finish (it crashed, or its store failed): the next run completes them. */
  async stuckInPurging(limit: number, runId: string): Promise<PurgeCandidate[]> {
    // Only items of runs that are over (or were killed): never those a live run is working on.
    const [rows] = await this.dataSource.query<[PurgeCandidate[], number]>(
      `UPDATE artifacts a SET purge_run_id = $2
        WHERE a.id IN (
          SELECT d.id FROM artifacts d
           WHERE d.state = 'purging' AND d.purge_run_id IS DISTINCT FROM $2
             AND NOT EXISTS (SELECT 1 FROM purge_runs r WHERE r.id = d.purge_run_id AND r.status = 'running')
           ORDER BY d.retain_until LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING a.id, a.storage_key, a.kind, a.purpose, a.retention_tag, a.size`,
      [limit, runId],
    );
    return rows;
  }

  /** Objects gone: the rows become content-free tombstones (R10.2). */
  async tombstone(ids: string[], runId: string, now: Date): Promise<PurgeCandidate[]> {
    if (ids.length === 0) return [];
    const [rows] = await this.dataSource.query<[PurgeCandidate[], number]>(
      `UPDATE artifacts SET state = 'purged', storage_key = NULL, file_name = NULL, sha256 = NULL, source_ref = NULL, captured_by_id = NULL,
              attributes = '{}'::jsonb, purged_at = $2, purge_run_id = $3, purge_reason = COALESCE(purge_reason, 'retention')
        WHERE id = ANY($1) AND state = 'purging'
        RETURNING id, NULL AS storage_key, kind, purpose, retention_tag, size`,
      [ids, now, runId],
    );
    return rows;
  }

  /**
   * Of claimed items, those that must not go now: a hold placed since the
   * claim covers them, or they are no longer due (a policy change, a close
   * still to come). The caller decides what becomes of them.
   */
  async notDueNow(ids: string[], now: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.dataSource.query<Array<{ id: string }>>(
      `SELECT d.id FROM artifacts d WHERE d.id = ANY($1) AND d.state = 'purging' AND (${heldCondition('d', '$2')} OR NOT ${dueCondition('d', '$2')})`,
      [ids, now],
    );
    return rows.map((r) => r.id);
  }

  /** Claimed items go back to `stored`, unchanged (their objects could not be deleted, or they must stay). */
  async unclaim(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const [rows] = await this.dataSource.query<[Array<{ id: string }>, number]>(
      `UPDATE artifacts SET state = 'stored', purge_run_id = NULL WHERE id = ANY($1) AND state = 'purging' RETURNING id`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  /** What a run would take (dry run): the first `cap` due, unheld items, counted per kind x purpose x tag, never loaded. */
  async dueTotals(now: Date, cap: number): Promise<Array<{ kind: string; purpose: string; tag: string; items: number; bytes: number }>> {
    const rows = await this.dataSource.query<Array<{ kind: string; purpose: string; tag: string; items: string; bytes: string }>>(
      `SELECT kind, purpose, retention_tag AS tag, count(*) AS items, COALESCE(sum(size), 0) AS bytes FROM (
         SELECT kind, purpose, retention_tag, size FROM artifacts d
          WHERE d.state IN ('stored', 'purging') AND ${dueCondition('d', '$1')} AND NOT ${heldCondition('d', '$1')}
          ORDER BY retain_until LIMIT $2) due
        GROUP BY kind, purpose, retention_tag ORDER BY retention_tag, kind, purpose`,
      [now, cap],
    );
    return rows.map((r) => ({ kind: r.kind, purpose: r.purpose, tag: r.tag, items: Number(r.items), bytes: Number(r.bytes) }));
  }

  /** How many items are due now but kept back by a hold. */
  async heldDueCount(now: Date): Promise<number> {
    const [held] = await this.dataSource.query<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM artifacts d WHERE d.state = 'stored' AND ${dueCondition('d', '$1')} AND ${heldCondition('d', '$1')}`,
      [now],
    );
    return Number(held.n);
  }

  /** R10.4: items whose legal basis was one of these consent events go at the next run (holds excepted). */
  async markForPurge(consentEventIds: string[], reason: 'consent_withdrawn' | 'erasure', conversationId: string | null = null): Promise<string[]> {
    if (consentEventIds.length === 0) return [];
    const [rows] = await this.dataSource.query<[Array<{ id: string }>, number]>(
      `UPDATE artifacts SET purge_reason = $2
        WHERE consent_event_id = ANY($1) AND ($3::uuid IS NULL OR conversation_id = $3) AND state IN ('pending', 'stored') AND purge_reason IS NULL
        RETURNING id`,
      [consentEventIds, reason, conversationId],
    );
    return rows.map((r) => r.id);
  }

  // --- the reconciler's steps -------------------------------------------------------------

  /** Of these keys, the ones no row points at (in any state but purged). */
  async keysWithoutRow(keys: string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.dataSource.query<Array<{ storage_key: string }>>(`SELECT storage_key FROM artifacts WHERE storage_key = ANY($1)`, [keys]);
    const known = new Set(rows.map((r) => r.storage_key));
    return keys.filter((k) => !known.has(k));
  }

  /** Stored rows, a page at a time by id, for the reconciler to check their objects. */
  async storedPage(afterId: string | null, limit: number): Promise<Array<{ id: string; storage_key: string }>> {
    return this.dataSource.query<Array<{ id: string; storage_key: string }>>(
      `SELECT id, storage_key FROM artifacts WHERE state = 'stored' AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
  }

  /** Of these ids, the rows still `stored` (a purge may have claimed some meanwhile). */
  async stillStored(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.dataSource.query<Array<{ id: string }>>(`SELECT id FROM artifacts WHERE id = ANY($1) AND state = 'stored'`, [ids]);
    const stored = new Set(rows.map((r) => r.id));
    return ids.filter((id) => stored.has(id));
  }

  /** Rows whose object is gone: tombstones that say so (object_missing), so no row points at nothing. */
  async markMissing(ids: string[], runId: string | null, now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const [rows] = await this.dataSource.query<[unknown[], number]>(
      `UPDATE artifacts SET state = 'purged', storage_key = NULL, file_name = NULL, sha256 = NULL, source_ref = NULL, captured_by_id = NULL,
              attributes = '{}'::jsonb, purged_at = $2, purge_run_id = $3, purge_reason = 'object_missing'
        WHERE id = ANY($1) AND state = 'stored' RETURNING id`,
      [ids, now, runId],
    );
    return rows.length;
  }

  // --- reports for privacy officers -------------------------------------------------------

  /** What is stored, per kind x purpose x tag: items and bytes. */
  async storedTotals(): Promise<Array<{ kind: string; purpose: string; tag: string; items: number; bytes: number }>> {
    const rows = await this.dataSource.query<Array<{ kind: string; purpose: string; tag: string; items: string; bytes: string }>>(
      `SELECT kind, purpose, retention_tag AS tag, count(*) AS items, COALESCE(sum(size), 0) AS bytes
         FROM artifacts WHERE state = 'stored' GROUP BY kind, purpose, retention_tag ORDER BY retention_tag, kind, purpose`,
    );
    return rows.map((r) => ({ kind: r.kind, purpose: r.purpose, tag: r.tag, items: Number(r.items), bytes: Number(r.bytes) }));
  }

  /** What expires between `now` and `until`, per tag: items and bytes. */
  async expiring(now: Date, until: Date): Promise<Array<{ tag: string; items: number; bytes: number }>> {
    const rows = await this.dataSource.query<Array<{ tag: string; items: string; bytes: string }>>(
      `SELECT retention_tag AS tag, count(*) AS items, COALESCE(sum(size), 0) AS bytes FROM artifacts
        WHERE state = 'stored' AND retain_until > $1 AND retain_until <= $2 GROUP BY retention_tag ORDER BY retention_tag`,
      [now, until],
    );
    return rows.map((r) => ({ tag: r.tag, items: Number(r.items), bytes: Number(r.bytes) }));
  }

  /**
   * Items past their time and not purged (should be none), each with why:
   * a hold keeps it, a run is working on it (or was killed on it), the last
   * run could not delete its object, or it waits for the next run.
   */
  async overdue(now: Date, limit: number): Promise<Array<{ id: string; kind: string; purpose: string; tag: string; retainUntil: string; state: string; why: string }>> {
    const rows = await this.dataSource.query<Array<{ id: string; kind: string; purpose: string; retention_tag: string; retain_until: Date; state: string; held: boolean; failure: string | null }>>(
      `SELECT d.id, d.kind, d.purpose, d.retention_tag, d.retain_until, d.state, ${heldCondition('d', '$1')} AS held,
              (SELECT f->>'reason' FROM purge_runs r, jsonb_array_elements(r.failures) f
                WHERE f->>'artifactId' = d.id::text ORDER BY r.started_at DESC LIMIT 1) AS failure
         FROM artifacts d
        WHERE d.state IN ('stored', 'purging') AND ${dueCondition('d', '$1')}
        ORDER BY d.retain_until LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      purpose: r.purpose,
      tag: r.retention_tag,
      retainUntil: r.retain_until.toISOString(),
      state: r.state,
      why: r.held
        ? 'a legal hold covers it'
        : r.state === 'purging'
          ? 'a purge run is working on it, or was stopped on it; the next run completes it'
          : r.failure
            ? `the last run could not delete its object: ${r.failure}`
            : 'it waits for the next purge run',
    }));
  }

  /**
   * R10.4: what of a customer's was purged (and why), and what is past its
   * time or marked to go but kept because a legal hold covers it.
   */
  /**
   * R10.4: what of a customer's was purged, and why; what a hold keeps back.
   * `holds`: name the holds keeping each item (for privacy officers; a
   * customer is told a hold keeps it, not the hold's reason).
   */
  async purgeReport(
    customerId: string,
    options: { holds?: boolean; locale?: TextLocale } = {},
  ): Promise<{
    purged: Array<{ id: string; kind: string; purpose: string; reason: string; purgedAt: string }>;
    keptUnderHold: Array<{ id: string; kind: string; purpose: string; reason: string; note: string; holdIds?: string[] }>;
  }> {
    const now = this.clock.now();
    const purged = await this.dataSource.query<Array<{ id: string; kind: string; purpose: string; purge_reason: string; purged_at: Date }>>(
      `SELECT id, kind, purpose, purge_reason, purged_at FROM artifacts WHERE customer_id = $1 AND state = 'purged' ORDER BY purged_at DESC LIMIT 500`,
      [customerId],
    );
    const kept = await this.dataSource.query<Array<{ id: string; kind: string; purpose: string; purge_reason: string | null; hold_ids: string[] }>>(
      `SELECT id, kind, purpose, purge_reason,
              ARRAY(SELECT h.id FROM legal_holds h
                     WHERE h.released_at IS NULL AND (h.ends_at IS NULL OR h.ends_at > $2)
                       AND ((h.scope = 'artifact' AND h.artifact_id = d.id) OR (h.scope = 'conversation' AND h.conversation_id = d.conversation_id)
                         OR (h.scope = 'subject' AND h.customer_id = d.customer_id))
                     ORDER BY h.placed_at) AS hold_ids
         FROM artifacts d
        WHERE d.customer_id = $1 AND d.state = 'stored' AND ${dueCondition('d', '$2')} AND ${heldCondition('d', '$2')}
        ORDER BY retain_until LIMIT 500`,
      [customerId, now],
    );
    return {
      purged: purged.map((r) => ({ id: r.id, kind: r.kind, purpose: r.purpose, reason: r.purge_reason, purgedAt: r.purged_at.toISOString() })),
      keptUnderHold: kept.map((r) => ({
        id: r.id,
        kind: r.kind,
        purpose: r.purpose,
        reason: r.purge_reason ?? 'retention',
        note: message('keptUnderHold', options.locale ?? DEFAULT_LOCALE),
        ...(options.holds ? { holdIds: r.hold_ids } : {}),
      })),
    };
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
      `SELECT id, storage_key FROM artifacts WHERE state = 'pending' AND captured_at < $1 ORDER BY captured_at LIMIT $2`,
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
    await this.refusalsAudited(auditActor(viewer), 'artifact.list', { type: 'conversation', id: conversationId }, purpose, async () => {
      await this.conversations.get(viewer, conversationId);
      this.requireContentAccess(viewer, reason);
      if (viewer.kind === 'staff' && !viewer.roles.includes('admin')) await this.requireHandling(viewer, conversationId, reason);
    }, reason);
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
    const audit = (outcome: 'allowed' | 'refused', details: Record<string, unknown>) =>
      this.audit.record({ actor: auditActor(viewer), action, target: { type: 'artifact', id }, purpose, reason: reason ?? null, outcome, details });
    const refuse = async (err: DomainException) => {
      await audit('refused', { code: err.code });
      return err;
    };
    try {
      if (!row) throw notFound();
      await this.conversations.get(viewer, row.conversation_id).catch(() => {
        throw notFound();
      });
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
    await audit('allowed', { kind: row.kind });
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

  private async conversationFacts(conversationId: string): Promise<ConversationFacts> {
    const rows = await this.dataSource.query<ConversationFacts[]>(`SELECT customer_id, closed_at FROM conversations WHERE id = $1`, [conversationId]);
    if (!rows[0]) throw new DomainException('CONVERSATION_NOT_FOUND', 'No such conversation');
    return rows[0];
  }
}

/**
 * Stops reading a body after a failure. A request is not destroyed (that
 * would reset the connection before the client reads its error): it is
 * drained, and its connection closed once the answer is out.
 */
function release(body: Readable): void {
  if (!(body instanceof IncomingMessage)) {
    body.destroy();
    return;
  }
  body.unpipe();
  if (body.complete) return;
  const res = (body as IncomingMessage & { res?: ServerResponse }).res;
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
  body.resume();
}
