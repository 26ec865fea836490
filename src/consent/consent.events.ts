import type { ConsentEventView, ConsentPromptView, ConsentRequestView, UploadTokenView } from './consent.views';

/** Emitted after the transaction that made them true has committed, never from inside it. */
export const CONSENT_EVENTS = {
  requested: 'consent.requested',
  /** A grant or a denial (answering a request, or a standing choice). */
  decided: 'consent.decided',
  /** Others react: stop a recording, purge what the consent covered (R3.4, R10.4). */
  withdrawn: 'consent.withdrawn',
  expired: 'consent.expired',
} as const;

export interface ConsentRequestedEvent {
  conversationId: string;
  customerId: string;
  requestedBy: string;
  prompts: ConsentPromptView[];
  requests: ConsentRequestView[];
}

export interface ConsentDecidedEvent {
  event: ConsentEventView;
  request: ConsentRequestView | null;
  /** Only for the customer's own sockets (R3.2 hand-off). */
  uploadToken: UploadTokenView | null;
}

export interface ConsentWithdrawnEvent {
  event: ConsentEventView;
}

export interface ConsentExpiredEvent {
  request: ConsentRequestView;
  event: ConsentEventView;
}
