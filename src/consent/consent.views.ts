import type { ActorKind, ConsentChannel, ConsentEventType, ConsentScope } from './consent-event.entity';
import type { CategoryLabel } from './consent-text';
import type { RequestStatus } from './consent-request.entity';
import type { LegalBasis } from './purpose.entity';

/** Rows as the consent module's own queries read them (snake_case from SQL). */
export interface PurposeRow {
  code: string;
  legal_basis: LegalBasis;
  retention_tag: string;
  categories: string[];
  description: string;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface TextVersionRow {
  id: string;
  purpose: string;
  locale: 'nl-NL' | 'en';
  version: number;
  effective_from: Date;
  title: string;
  categories: CategoryLabel[];
  text: string;
  sha256: string;
  readability: { metric: string; score: number; longestSentenceWords: number };
  source: 'shipped' | 'admin';
  published_by: string | null;
  created_at: Date;
}

export interface RequestRow {
  id: string;
  conversation_id: string;
  customer_id: string;
  purpose: string;
  requested_by: string;
  text_version_id: string;
  locale: string;
  status: RequestStatus;
  expires_at: Date;
  closed_at: Date | null;
  created_at: Date;
}

export interface EventRow {
  id: string;
  position: string;
  type: ConsentEventType;
  customer_id: string;
  purpose: string;
  scope: ConsentScope;
  conversation_id: string | null;
  request_id: string | null;
  actor_kind: ActorKind;
  actor_id: string | null;
  channel: ConsentChannel;
  evidence: Record<string, unknown>;
  locale: string | null;
  text_version_id: string | null;
  text_sha256: string | null;
  occurred_at: Date;
}

export interface PurposeView {
  code: string;
  legalBasis: LegalBasis;
  retentionTag: string;
  categories: string[];
  description: string;
  active: boolean;
  /** True when capture under it needs the customer's consent. */
  needsConsent: boolean;
}

export interface TextVersionView {
  id: string;
  purpose: string;
  locale: string;
  version: number;
  effectiveFrom: string;
  title: string;
  categories: CategoryLabel[];
  text: string;
  textHash: string;
  readability: TextVersionRow['readability'];
  source: 'shipped' | 'admin';
  publishedBy: string | null;
}

/** One ledger event, as the customer (their own) and privacy officers see it. */
export interface ConsentEventView {
  id: string;
  position: number;
  type: ConsentEventType;
  customerId: string;
  purpose: string;
  scope: ConsentScope;
  conversationId: string | null;
  requestId: string | null;
  actor: { kind: ActorKind; id: string | null };
  channel: ConsentChannel;
  evidence: Record<string, unknown>;
  locale: string | null;
  textVersionId: string | null;
  textHash: string | null;
  occurredAt: string;
}

export interface ConsentRequestView {
  id: string;
  conversationId: string;
  customerId: string;
  purpose: string;
  status: RequestStatus;
  requestedBy: string;
  locale: string;
  textVersionId: string;
  expiresAt: string;
  closedAt: string | null;
  createdAt: string;
}

/** What the customer is shown when asked (R1.2, R3.2): the text, its version and hash, the categories, the deadline. */
export interface ConsentPromptView {
  requestId: string;
  conversationId: string;
  purpose: string;
  title: string;
  text: string;
  textVersionId: string;
  version: number;
  textHash: string;
  effectiveFrom: string;
  effectiveFromText: string;
  categories: CategoryLabel[];
  /** The language of the text. */
  locale: string;
  /** The customer's own tag, which dates and numbers are formatted for. */
  formatLocale: string;
  expiresAt: string;
  expiresAtText: string;
  answerWithinText: string;
}

export interface UploadTokenView {
  token: string;
  conversationId: string;
  purpose: string;
  expiresAt: string;
}

export const toPurposeView = (r: PurposeRow): PurposeView => ({
  code: r.code,
  legalBasis: r.legal_basis,
  retentionTag: r.retention_tag,
  categories: r.categories,
  description: r.description,
  active: r.active,
  needsConsent: r.legal_basis === 'consent',
});

export const toTextVersionView = (r: TextVersionRow): TextVersionView => ({
  id: r.id,
  purpose: r.purpose,
  locale: r.locale,
  version: r.version,
  effectiveFrom: r.effective_from.toISOString(),
  title: r.title,
  categories: r.categories,
  text: r.text,
  textHash: r.sha256,
  readability: r.readability,
  source: r.source,
  publishedBy: r.published_by,
});

export const toEventView = (r: EventRow): ConsentEventView => ({
  id: r.id,
  position: Number(r.position),
  type: r.type,
  customerId: r.customer_id,
  purpose: r.purpose,
  scope: r.scope,
  conversationId: r.conversation_id,
  requestId: r.request_id,
  actor: { kind: r.actor_kind, id: r.actor_id },
  channel: r.channel,
  evidence: r.evidence,
  locale: r.locale,
  textVersionId: r.text_version_id,
  textHash: r.text_sha256,
  occurredAt: r.occurred_at.toISOString(),
});

export const toRequestView = (r: RequestRow): ConsentRequestView => ({
  id: r.id,
  conversationId: r.conversation_id,
  customerId: r.customer_id,
  purpose: r.purpose,
  status: r.status,
  requestedBy: r.requested_by,
  locale: r.locale,
  textVersionId: r.text_version_id,
  expiresAt: r.expires_at.toISOString(),
  closedAt: r.closed_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
});
