import type { ArtifactKind, ArtifactState } from './artifact.entity';

export interface ArtifactRow {
  id: string;
  kind: ArtifactKind;
  conversation_id: string;
  customer_id: string;
  purpose: string;
  legal_basis: 'contract' | 'consent';
  consent_event_id: string | null;
  retention_tag: string;
  retain_until: Date;
  state: ArtifactState;
  storage_key: string | null;
  size: string | null;
  sha256: string | null;
  content_type: string | null;
  file_name: string | null;
  attributes: Record<string, unknown>;
  captured_by_kind: 'customer' | 'staff' | 'system' | 'telephony';
  captured_by_id: string | null;
  captured_at: Date;
  stored_at: Date | null;
  created_at: Date;
}

/** An artifact's record, never its bytes. */
export interface ArtifactView {
  id: string;
  kind: ArtifactKind;
  conversationId: string;
  customerId: string;
  purpose: string;
  legalBasis: 'contract' | 'consent';
  consentEventId: string | null;
  retentionTag: string;
  retainUntil: string;
  state: ArtifactState;
  size: number | null;
  sha256: string | null;
  contentType: string | null;
  fileName: string | null;
  attributes: Record<string, unknown>;
  capturedBy: { kind: string; id: string | null };
  capturedAt: string;
  storedAt: string | null;
}

export const toArtifactView = (r: ArtifactRow): ArtifactView => ({
  id: r.id,
  kind: r.kind,
  conversationId: r.conversation_id,
  customerId: r.customer_id,
  purpose: r.purpose,
  legalBasis: r.legal_basis,
  consentEventId: r.consent_event_id,
  retentionTag: r.retention_tag,
  retainUntil: r.retain_until.toISOString(),
  state: r.state,
  size: r.size === null ? null : Number(r.size),
  sha256: r.sha256,
  contentType: r.content_type,
  fileName: r.file_name,
  attributes: r.attributes,
  capturedBy: { kind: r.captured_by_kind, id: r.captured_by_id },
  capturedAt: r.captured_at.toISOString(),
  storedAt: r.stored_at?.toISOString() ?? null,
});
