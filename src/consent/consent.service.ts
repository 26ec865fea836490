import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { ConversationsService } from '../conversations/conversations.service';
import { DirectoryService, type Participant } from '../directory/directory.service';
import { DomainException, RetryLaterException } from '../errors/domain.exception';
import { LocaleFormat } from '../i18n/format';
import { resolveLocale, type ResolvedLocale } from '../i18n/locale';
import type { ConsentChannel } from './consent-event.entity';
import { ConsentCacheService } from './consent-cache.service';
import { ConsentLedgerService } from './consent-ledger.service';
import { ConsentTextsService } from './consent-texts.service';
import {
  CONSENT_EVENTS,
  type ConsentDecidedEvent,
  type ConsentExpiredEvent,
  type ConsentRequestedEvent,
  type ConsentWithdrawnEvent,
} from './consent.events';
import {
  toEventView,
  toRequestView,
  type ConsentEventView,
  type ConsentPromptView,
  type ConsentRequestView,
  type EventRow,
  type PurposeRow,
  type RequestRow,
  type TextVersionRow,
  type UploadTokenView,
} from './consent.views';
import { auditActor } from '../audit/audit.service';
import { mayAskAgain } from './ask-again.rule';
import { UploadTokensService } from './upload-tokens.service';
import { lockUntilCommit } from '../database/advisory-locks';

/** How an answer reached us: the channel, and evidence of the customer's own action. */
export interface Via {
  channel: ConsentChannel;
  evidence: Record<string, unknown>;
}

/** Socket acks must not carry a top-level `event` key (Nest would emit it as an event), hence `ledgerEvent`. */
export interface AnswerResult {
  ledgerEvent: ConsentEventView;
  request: ConsentRequestView;
  /** R3.2: with a diagnostics grant, the single-use token the upload needs. */
  uploadToken: UploadTokenView | null;
}

/** What a caller can decide by key press during a call (R3.4); the rest needs a screen. */
const PHONE_PURPOSES = new Set(['call_recording', 'transcription']);

/** Purposes whose grant hands the customer's application an upload token. */
const UPLOAD_PURPOSES = new Set(['diagnostics']);

/** The web's evidence of who acted: a hash of the user agent, never the agent string itself. */
export function userAgentEvidence(userAgent: string | undefined, via: string): Record<string, unknown> {
  return { via, userAgentSha256: userAgent ? createHash('sha256').update(userAgent).digest('hex') : null };
}

/**
 * Asking, answering, standing choices and withdrawals. Every decision is a
 * ledger event written in the same transaction as the state it changes, and
 * announced only after that transaction committed.
 */
@Injectable()
export class ConsentService {
  private readonly logger = new Logger(ConsentService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: ConsentLedgerService,
    private readonly texts: ConsentTextsService,
    private readonly uploadTokens: UploadTokensService,
    private readonly cache: ConsentCacheService,
    private readonly conversations: ConversationsService,
    private readonly directory: DirectoryService,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** The language a customer is addressed in: profile, else their client's, else Dutch (R2.1, R2.2). */
  async localeOf(customerId: string, db?: EntityManager): Promise<ResolvedLocale> {
    return resolveLocale(await this.directory.localeHints(customerId, db));
  }

  format(locale: ResolvedLocale): LocaleFormat {
    return new LocaleFormat(locale, this.config.privacy.displayTimeZone);
  }

  /**
   * The agent handling a conversation asks its customer for one or more
   * purposes (R3.2, R3.4). A question still open for a purpose is asked
   * again as it is, not twice.
   */
  async request(agent: Participant, conversationId: string, purposeCodes: string[]): Promise<{ requests: ConsentRequestView[]; prompts: ConsentPromptView[] }> {
    if (agent.kind !== 'staff' || !(agent.roles.includes('agent') || agent.roles.includes('admin'))) {
      throw new DomainException('FORBIDDEN', 'Only the agent handling the conversation asks for consent');
    }
    const conversation = await this.conversations.get(agent, conversationId);
    if (conversation.assignedAgentId !== agent.id && !agent.roles.includes('admin')) {
      throw new DomainException('FORBIDDEN', 'Take the conversation first to ask its customer for consent');
    }
    if (conversation.status !== 'open') throw new DomainException('CONVERSATION_CLOSED', 'This conversation is closed');
    const codes = [...new Set(purposeCodes)];
    const purposes = await this.lockPurposes(this.dataSource.manager, codes);
    for (const code of codes) {
      const purpose = purposes.get(code)!;
      if (purpose.legal_basis !== 'consent') {
        throw new DomainException('CONSENT_NOT_NEEDED', `"${code}" rests on the contract, not on consent: there is nothing to ask`);
      }
      if (!purpose.active) throw new DomainException('PURPOSE_INACTIVE', `The purpose "${code}" is no longer in use`);
    }
    const locale = await this.localeOf(conversation.customerId);
    const texts = new Map<string, TextVersionRow>();
    for (const code of codes) {
      const text = await this.texts.require(code, locale.text);
      // R3.2: the prompt must name exactly what the purpose collects; a changed purpose needs its text first.
      const named = text.categories.map((c) => c.code).sort().join(',');
      if (named !== [...purposes.get(code)!.categories].sort().join(',')) {
        throw new DomainException('CONSENT_TEXT_NOT_FOUND', `The current ${locale.text} text for "${code}" does not name its categories; publish one that does`);
      }
      texts.set(code, text);
    }

    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.consent.requestTtlSeconds * 1000);
    const expiredNow: Array<{ request: RequestRow; event: EventRow }> = [];
    const asked = new Set<string>();
    const requests = await this.dataSource.transaction(async (manager) => {
      // Held while asking, so an admin cannot retire a purpose halfway.
      await this.lockPurposes(manager, codes, 'FOR SHARE');
      // One open question per conversation and purpose, also when two agents ask at once. Taken in one
      // order whatever order the purposes were named in: two requests naming them differently would deadlock.
      for (const code of [...codes].sort()) {
        await lockUntilCommit(manager, `consent-request:${conversationId}:${code}`);
      }
      const out: RequestRow[] = [];
      for (const code of codes) {
        const open = await manager.query<RequestRow[]>(
          `SELECT * FROM consent_requests WHERE conversation_id = $1 AND purpose = $2 AND status = 'pending' FOR UPDATE`,
          [conversationId, code],
        );
        const current = open.find((r) => r.expires_at > now);
        for (const overdue of open.filter((r) => r.expires_at <= now)) expiredNow.push(await this.expireRow(manager, overdue, now));
        if (current) {
          out.push(current);
          continue;
        }
        await this.assertMayAskAgain(manager, conversationId, conversation.customerId, code, now);
        const text = texts.get(code)!;
        const [row] = await manager.query<RequestRow[]>(
          `INSERT INTO consent_requests (conversation_id, customer_id, purpose, requested_by, text_version_id, locale, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [conversationId, conversation.customerId, code, agent.id, text.id, locale.format, expiresAt, now],
        );
        await this.ledger.append(manager, {
          type: 'requested',
          customerId: conversation.customerId,
          purpose: code,
          conversationId,
          requestId: row.id,
          actor: { kind: 'staff', id: agent.id, role: auditActor(agent).role },
          channel: 'chat',
          locale: text.locale,
          text: { versionId: text.id, sha256: text.sha256 },
          occurredAt: now,
        });
        asked.add(row.id);
        out.push(row);
      }
      return out;
    });
    for (const { request, event } of expiredNow) this.announceExpired(request, event);
    const prompts = await Promise.all(requests.map((r) => this.prompt(r)));
    const views = requests.map(toRequestView);
    // Only new questions reach the customer: asking again while one is open does not prompt again (R1.1).
    const fresh = requests.map((r, i) => ({ request: views[i], prompt: prompts[i], isNew: asked.has(r.id) })).filter((r) => r.isNew);
    if (fresh.length > 0) {
      this.events.emit(CONSENT_EVENTS.requested, {
        conversationId,
        customerId: conversation.customerId,
        requestedBy: agent.id,
        prompts: fresh.map((r) => r.prompt),
        requests: fresh.map((r) => r.request),
      } satisfies ConsentRequestedEvent);
    }
    return { requests: views, prompts };
  }

  /** R1.1: a few questions per purpose and conversation, and a pause after each "no". */
  private async assertMayAskAgain(manager: EntityManager, conversationId: string, customerId: string, purpose: string, now: Date): Promise<void> {
    const [earlier] = await manager.query<{ asked: number; last_no_at: Date | null }[]>(
      `SELECT (SELECT count(*)::int FROM consent_requests WHERE conversation_id = $1 AND purpose = $3) AS asked,
              GREATEST(
                (SELECT max(closed_at) FROM consent_requests WHERE conversation_id = $1 AND purpose = $3 AND status IN ('denied', 'expired')),
                (SELECT max(occurred_at) FROM consent_events WHERE customer_id = $2 AND purpose = $3 AND type = 'withdrawn'
                   AND (conversation_id = $1 OR scope = 'standing'))
              ) AS last_no_at`,
      [conversationId, customerId, purpose],
    );
    const { limits } = this.config;
    const verdict = mayAskAgain(
      { asked: earlier.asked, lastNoAt: earlier.last_no_at },
      now,
      { maxRequests: limits.consentRequestsPerConversation, cooldownSeconds: limits.consentCooldownSeconds },
    );
    if (verdict.allowed) return;
    if (verdict.code === 'CONSENT_REQUEST_LIMIT') {
      throw new DomainException('CONSENT_REQUEST_LIMIT', `"${purpose}" has been asked ${limits.consentRequestsPerConversation} times in this conversation; it is not asked again here`);
    }
    throw new RetryLaterException('CONSENT_REQUEST_COOLDOWN', `The customer declined, let pass or withdrew "${purpose}" a moment ago; ask again later, if at all`, verdict.retryAfterSeconds);
  }

  /** What the customer is shown for a request: the text it was asked with, formatted for them. */
  async prompt(request: RequestRow): Promise<ConsentPromptView> {
    const text = (await this.texts.byId(request.text_version_id))!;
    const locale = resolveLocale({ profile: request.locale });
    const format = this.format(locale);
    const seconds = Math.max(0, (request.expires_at.getTime() - request.created_at.getTime()) / 1000);
    return {
      requestId: request.id,
      conversationId: request.conversation_id,
      purpose: request.purpose,
      title: text.title,
      text: text.text,
      textVersionId: text.id,
      version: text.version,
      textHash: text.sha256,
      effectiveFrom: text.effective_from.toISOString(),
      effectiveFromText: format.date(text.effective_from),
      categories: text.categories,
      locale: text.locale,
      formatLocale: locale.format,
      expiresAt: request.expires_at.toISOString(),
      expiresAtText: format.dateTime(request.expires_at),
      answerWithinText: format.minutes(Math.ceil(seconds / 60)),
    };
  }

  /**
   * The customer answers a request (R1.1: only they can), naming the hash of
   * the text they were shown. A different hash is refused and nothing is
   * recorded; an answer after the deadline finds the request expired.
   */
  async answer(customer: Participant, requestId: string, decision: 'grant' | 'deny', textHash: string, via: Via): Promise<AnswerResult> {
    if (customer.kind !== 'customer') {
      throw new DomainException('FORBIDDEN', 'Only the customer can answer a consent request; nobody answers on their behalf');
    }
    const outcome = await this.dataSource.transaction(async (manager) => {
      const rows = await manager.query<RequestRow[]>(`SELECT * FROM consent_requests WHERE id = $1 FOR UPDATE`, [requestId]);
      const request = rows[0];
      if (!request || request.customer_id !== customer.id) throw new DomainException('CONSENT_REQUEST_NOT_FOUND', 'No such consent request');
      if (request.status === 'expired') throw expired();
      if (request.status !== 'pending') throw new DomainException('CONSENT_REQUEST_ANSWERED', `This request was already answered (${request.status})`);
      const now = this.clock.now();
      if (request.expires_at <= now) return { kind: 'expired' as const, ...(await this.expireRow(manager, request, now)) };
      const text = (await this.texts.byId(request.text_version_id, manager))!;
      if (textHash !== text.sha256) {
        throw new DomainException('STALE_CONSENT_TEXT', 'The text you answered is not the text of this request; read it again and answer once more');
      }
      const purposes = await this.lockPurposes(manager, [request.purpose], 'FOR SHARE');
      if (!purposes.get(request.purpose)!.active) throw new DomainException('PURPOSE_INACTIVE', `The purpose "${request.purpose}" is no longer in use`);
      const status = decision === 'grant' ? 'granted' : 'denied';
      const [updated] = await manager.query<[RequestRow[], number]>(
        `UPDATE consent_requests SET status = $2, closed_at = $3 WHERE id = $1 RETURNING *`,
        [request.id, status, now],
      );
      const event = await this.ledger.append(manager, {
        type: status,
        customerId: customer.id,
        purpose: request.purpose,
        conversationId: request.conversation_id,
        requestId: request.id,
        actor: { kind: 'customer', id: customer.id },
        channel: via.channel,
        evidence: via.evidence,
        locale: text.locale,
        text: { versionId: text.id, sha256: text.sha256 },
        occurredAt: now,
      });
      const uploadToken =
        status === 'granted' && UPLOAD_PURPOSES.has(request.purpose)
          ? await this.uploadTokens.issue(manager, { eventId: event.id, conversationId: request.conversation_id, customerId: customer.id, purpose: request.purpose })
          : null;
      return { kind: 'answered' as const, request: updated[0], event, uploadToken };
    });
    if (outcome.kind === 'expired') {
      this.announceExpired(outcome.request, outcome.event);
      throw expired();
    }
    this.cache.invalidate(customer.id);
    const result = { ledgerEvent: toEventView(outcome.event), request: toRequestView(outcome.request), uploadToken: outcome.uploadToken };
    this.events.emit(CONSENT_EVENTS.decided, { event: result.ledgerEvent, request: result.request, uploadToken: result.uploadToken } satisfies ConsentDecidedEvent);
    return result;
  }

  /**
   * R1.4: at any time, unasked, the customer grants a purpose (having read its
   * current text, named by hash) or withdraws it, for all conversations.
   */
  async setStanding(customer: Participant, purposeCode: string, decision: 'grant' | 'withdraw', textHash: string | undefined, via: Via): Promise<ConsentEventView> {
    if (customer.kind !== 'customer') throw new DomainException('FORBIDDEN', 'Only the customer makes their own choices');
    const now = this.clock.now();
    const event = await this.dataSource.transaction(async (manager) => {
      const purpose = (await this.lockPurposes(manager, [purposeCode], 'FOR SHARE')).get(purposeCode)!;
      if (purpose.legal_basis !== 'consent') {
        throw new DomainException('CONSENT_NOT_NEEDED', `"${purposeCode}" rests on the contract, not on consent; to object, contact the privacy officer`);
      }
      if (decision === 'withdraw') {
        return this.ledger.append(manager, {
          type: 'withdrawn',
          customerId: customer.id,
          purpose: purposeCode,
          conversationId: null,
          actor: { kind: 'customer', id: customer.id },
          channel: via.channel,
          evidence: via.evidence,
          occurredAt: now,
        });
      }
      if (!purpose.active) throw new DomainException('PURPOSE_INACTIVE', `The purpose "${purposeCode}" is no longer in use`);
      const text = textHash ? await this.texts.currentWithHash(purposeCode, textHash, manager) : undefined;
      if (!text) throw new DomainException('STALE_CONSENT_TEXT', 'The text you agreed to is not the current one; read the current text and choose again');
      return this.ledger.append(manager, {
        type: 'granted',
        customerId: customer.id,
        purpose: purposeCode,
        conversationId: null,
        actor: { kind: 'customer', id: customer.id },
        channel: via.channel,
        evidence: via.evidence,
        locale: text.locale,
        text: { versionId: text.id, sha256: text.sha256 },
        occurredAt: now,
      });
    });
    return this.announce(event);
  }

  /** The customer withdraws what they granted in one conversation (from the chat). */
  async withdrawInConversation(customer: Participant, conversationId: string, purposeCode: string, via: Via): Promise<ConsentEventView> {
    if (customer.kind !== 'customer') throw new DomainException('FORBIDDEN', 'Only the customer withdraws their consent');
    const conversation = await this.conversations.get(customer, conversationId);
    const event = await this.dataSource.transaction(async (manager) => {
      const purpose = (await this.lockPurposes(manager, [purposeCode], 'FOR SHARE')).get(purposeCode)!;
      if (purpose.legal_basis !== 'consent') throw new DomainException('CONSENT_NOT_NEEDED', `"${purposeCode}" rests on the contract, not on consent`);
      return this.ledger.append(manager, {
        type: 'withdrawn',
        customerId: customer.id,
        purpose: purposeCode,
        conversationId: conversation.id,
        actor: { kind: 'customer', id: customer.id },
        channel: via.channel,
        evidence: via.evidence,
        occurredAt: this.clock.now(),
      });
    });
    return this.announce(event);
  }

  /**
   * A key press relayed by the phone system (R3.4), inside the webhook's own
   * transaction: grant or withdraw for the call's conversation. The caller
   * announces the event after commit.
   */
  async recordKeypress(
    manager: EntityManager,
    input: { customerId: string; conversationId: string; purpose: string; decision: 'grant' | 'withdraw'; textHash?: string; evidence: Record<string, unknown>; occurredAt: Date },
  ): Promise<EventRow> {
    if (!PHONE_PURPOSES.has(input.purpose)) {
      throw new DomainException('VALIDATION_FAILED', `A key press decides ${[...PHONE_PURPOSES].join(' or ')} only`);
    }
    const purpose = (await this.lockPurposes(manager, [input.purpose], 'FOR SHARE')).get(input.purpose)!;
    if (purpose.legal_basis !== 'consent') throw new DomainException('CONSENT_NOT_NEEDED', `"${input.purpose}" rests on the contract, not on consent`);
    const base = {
      customerId: input.customerId,
      purpose: input.purpose,
      conversationId: input.conversationId,
      actor: { kind: 'customer' as const, id: input.customerId },
      channel: 'ivr' as const,
      evidence: input.evidence,
      occurredAt: input.occurredAt,
    };
    if (input.decision === 'withdraw') return this.ledger.append(manager, { ...base, type: 'withdrawn' });
    if (!purpose.active) throw new DomainException('PURPOSE_INACTIVE', `The purpose "${input.purpose}" is no longer in use`);
    // R1.2: the ledger names the text the caller heard, so the phone system must say which it read out.
    if (!input.textHash) throw new DomainException('VALIDATION_FAILED', 'A grant by key press needs consent.textHash: the hash of the text the caller heard');
    const text = await this.texts.currentWithHash(input.purpose, input.textHash, manager);
    if (!text) throw new DomainException('STALE_CONSENT_TEXT', 'The prompt the caller heard is not a current text for this purpose');
    return this.ledger.append(manager, { ...base, type: 'granted', locale: text.locale, text: { versionId: text.id, sha256: text.sha256 } });
  }

  /**
   * R10.4: what a withdrawal takes back. Standing: every earlier grant of
   * that purpose, wherever it was used. In a conversation: what was captured
   * there under any earlier grant, that conversation's own or a standing one
   * (the gate lets the latest decision win there too); a standing grant
   * still holds elsewhere.
   */
  async revokedBy(withdrawal: ConsentEventView): Promise<{ grants: string[]; conversationId: string | null }> {
    const rows = await this.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM consent_events
        WHERE customer_id = $1 AND purpose = $2 AND type = 'granted' AND position < $3
          AND ($4::uuid IS NULL OR conversation_id = $4 OR scope = 'standing')`,
      [withdrawal.customerId, withdrawal.purpose, withdrawal.position, withdrawal.conversationId],
    );
    return { grants: rows.map((r) => r.id), conversationId: withdrawal.conversationId };
  }

  /** After commit: this instance's gate sees the decision at once, then whoever reacts to it hears of it. */
  announce(row: EventRow): ConsentEventView {
    this.cache.invalidate(row.customer_id);
    const event = toEventView(row);
    if (event.type === 'withdrawn') this.events.emit(CONSENT_EVENTS.withdrawn, { event } satisfies ConsentWithdrawnEvent);
    else if (event.type === 'granted' || event.type === 'denied') {
      this.events.emit(CONSENT_EVENTS.decided, { event, request: null, uploadToken: null } satisfies ConsentDecidedEvent);
    }
    return event;
  }

  /**
   * Silence is not consent (R1.1): requests past their deadline become
   * `expired`, in the ledger too. Safe on several instances at once (SKIP LOCKED).
   */
  async expireDue(limit = 500): Promise<number> {
    const now = this.clock.now();
    const expiredRows = await this.dataSource.transaction(async (manager) => {
      const due = await manager.query<RequestRow[]>(
        `SELECT * FROM consent_requests WHERE status = 'pending' AND expires_at <= $1
          ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
      const out: Array<{ request: RequestRow; event: EventRow }> = [];
      for (const request of due) out.push(await this.expireRow(manager, request, now));
      return out;
    });
    for (const { request, event } of expiredRows) this.announceExpired(request, event);
    if (expiredRows.length > 0) this.logger.log(`expired ${expiredRows.length} unanswered consent request(s)`);
    return expiredRows.length;
  }

  /** A request as its customer, or the staff who may see its conversation, see it. */
  async getRequest(viewer: Participant, requestId: string): Promise<{ request: ConsentRequestView; prompt: ConsentPromptView }> {
    const rows = await this.dataSource.query<RequestRow[]>(`SELECT * FROM consent_requests WHERE id = $1`, [requestId]);
    const request = rows[0];
    if (!request) throw new DomainException('CONSENT_REQUEST_NOT_FOUND', 'No such consent request');
    try {
      await this.conversations.get(viewer, request.conversation_id);
    } catch {
      throw new DomainException('CONSENT_REQUEST_NOT_FOUND', 'No such consent request');
    }
    return { request: toRequestView(request), prompt: await this.prompt(request) };
  }

  /** The requests made in a conversation, newest first (agent console, customer's chat). */
  async requestsIn(viewer: Participant, conversationId: string): Promise<ConsentRequestView[]> {
    await this.conversations.get(viewer, conversationId);
    const rows = await this.dataSource.query<RequestRow[]>(
      `SELECT * FROM consent_requests WHERE conversation_id = $1 ORDER BY created_at DESC, id LIMIT 200`,
      [conversationId],
    );
    return rows.map(toRequestView);
  }

  private async expireRow(manager: EntityManager, request: RequestRow, now: Date): Promise<{ request: RequestRow; event: EventRow }> {
    const [updated] = await manager.query<[RequestRow[], number]>(
      `UPDATE consent_requests SET status = 'expired', closed_at = $2 WHERE id = $1 RETURNING *`,
      [request.id, now],
    );
    const event = await this.ledger.append(manager, {
      type: 'expired',
      customerId: request.customer_id,
      purpose: request.purpose,
      conversationId: request.conversation_id,
      requestId: request.id,
      actor: { kind: 'system', id: null },
      channel: 'chat',
      occurredAt: now,
    });
    return { request: updated[0], event };
  }

  private announceExpired(request: RequestRow, event: EventRow): void {
    this.events.emit(CONSENT_EVENTS.expired, { request: toRequestView(request), event: toEventView(event) } satisfies ConsentExpiredEvent);
  }

  /** The purposes (all must exist), locked against change for the rest of the transaction when a lock mode is given. */
  private async lockPurposes(manager: EntityManager, codes: string[], mode: 'FOR SHARE' | '' = ''): Promise<Map<string, PurposeRow>> {
    const rows = await manager.query<PurposeRow[]>(`SELECT * FROM consent_purposes WHERE code = ANY($1) ORDER BY code ${mode}`, [codes]);
    const byCode = new Map(rows.map((r) => [r.code, r]));
    const missing = codes.find((c) => !byCode.has(c));
    if (missing) throw new DomainException('PURPOSE_NOT_FOUND', `There is no purpose "${missing}"`);
    return byCode;
  }
}

const expired = () =>
  new DomainException('CONSENT_REQUEST_EXPIRED', 'This request expired without an answer; nothing was recorded as consent. The agent can ask again');
