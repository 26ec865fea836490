import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { Clock } from '../clock/clock';
import { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { ConsentGate, type ConsentBasis } from './consent.gate';
import type { UploadTokenView } from './consent.views';

/** Recognisable in a leak report, and matched by the log scrubber. */
export const UPLOAD_TOKEN_PREFIX = 'sdu_';

export interface RedeemedUploadToken {
  tokenId: string;
  conversationId: string;
  customerId: string;
  purpose: string;
  basis: ConsentBasis;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * R3.2: a grant of diagnostics in a conversation yields a short-lived,
 * single-use token bound to that conversation, customer, purpose and grant.
 * The upload route redeems it; only its hash is stored.
 */
@Injectable()
export class UploadTokensService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gate: ConsentGate,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** Issued inside the transaction that records the grant. */
  async issue(manager: EntityManager, grant: { eventId: string; conversationId: string; customerId: string; purpose: string }): Promise<UploadTokenView> {
    const token = `${UPLOAD_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(this.clock.now().getTime() + this.config.consent.uploadTokenTtlSeconds * 1000);
    await manager.query(
      `INSERT INTO consent_upload_tokens (token_sha256, conversation_id, customer_id, purpose, consent_event_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [hash(token), grant.conversationId, grant.customerId, grant.purpose, grant.eventId, expiresAt],
    );
    return { token, conversationId: grant.conversationId, purpose: grant.purpose, expiresAt: expiresAt.toISOString() };
  }

  /**
   * The grant behind a token, if it may be used now: unused, unexpired, for
   * this conversation (still open), purpose and customer, and the consent
   * still holds. Every refusal looks the same (UPLOAD_TOKEN_INVALID), so a
   * guessed token learns nothing; a withdrawn consent says so. Nothing is
   * used up here: consume() does that once the upload is stored, so a failed
   * upload can be tried again with the same token.
   */
  async check(token: string, expected: { conversationId: string; purpose: string; customerId?: string }): Promise<RedeemedUploadToken> {
    if (typeof token !== 'string' || !token.startsWith(UPLOAD_TOKEN_PREFIX) || token.length > 100) throw invalid();
    const rows = await this.dataSource.query<Array<{ id: string; conversation_id: string; customer_id: string; purpose: string }>>(
      `SELECT t.id, t.conversation_id, t.customer_id, t.purpose FROM consent_upload_tokens t
        WHERE t.token_sha256 = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND t.conversation_id = $3 AND t.purpose = $4
          AND ($5::uuid IS NULL OR t.customer_id = $5)
          AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = t.conversation_id AND c.status = 'open')`,
      [hash(token), this.clock.now(), expected.conversationId, expected.purpose, expected.customerId ?? null],
    );
    const row = rows[0];
    if (!row) throw await this.refusal(token);
    // A withdrawal since the grant wins (R6.5).
    const basis = await this.gate.require(row.customer_id, row.purpose, { conversationId: row.conversation_id });
    return { tokenId: row.id, conversationId: row.conversation_id, customerId: row.customer_id, purpose: row.purpose, basis };
  }

  /**
   * The refusal, saying (to the service, not the caller) whether the token is
   * one that was issued: a real token used again, too late or elsewhere is worth
   * an audit row; a made-up one is not (a flood of them must not grow the trail).
   */
  private async refusal(token: string): Promise<UploadTokenRefused> {
    const [issued] = await this.dataSource.query<Array<{ id: string; conversation_id: string }>>(
      `SELECT id, conversation_id FROM consent_upload_tokens WHERE token_sha256 = $1`,
      [hash(token)],
    );
    return new UploadTokenRefused(issued ? { tokenId: issued.id, conversationId: issued.conversation_id } : undefined);
  }

  /** Uses the token up, in the caller's transaction; refused if someone else used it first. */
  async consume(manager: EntityManager, tokenId: string): Promise<void> {
    const [rows] = await manager.query<[unknown[], number]>(
      `UPDATE consent_upload_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id`,
      [tokenId, this.clock.now()],
    );
    if (rows.length === 0) throw invalid();
  }

  /** check() and consume() at once, for a use without an upload in between. */
  async redeem(token: string, expected: { conversationId: string; purpose: string; customerId?: string }): Promise<RedeemedUploadToken> {
    const checked = await this.check(token, expected);
    await this.dataSource.transaction((manager) => this.consume(manager, checked.tokenId));
    return checked;
  }
}

const INVALID_MESSAGE = 'This upload token is not valid (unknown, used, expired, or for another conversation, customer or a closed one)';

const invalid = () => new DomainException('UPLOAD_TOKEN_INVALID', INVALID_MESSAGE);

/** UPLOAD_TOKEN_INVALID, with the issued token it names when there is one (never shown to the caller). */
export class UploadTokenRefused extends DomainException {
  constructor(readonly issued?: { tokenId: string; conversationId: string }) {
    super('UPLOAD_TOKEN_INVALID', INVALID_MESSAGE);
  }
}
