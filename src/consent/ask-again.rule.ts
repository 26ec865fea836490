/**
 * R1.1: silence and pressure are not consent. An agent may ask a customer for
 * the same purpose in one conversation a few times at most, and after a "no",
 * an unanswered request or a withdrawal only once a pause has passed.
 */
export interface EarlierAsking {
  /** Requests already made for this purpose in this conversation. */
  asked: number;
  /** When the customer last said no (a denial, an expiry, a withdrawal); null if never. */
  lastNoAt: Date | null;
}

export type AskAgain = { allowed: true } | { allowed: false; code: 'CONSENT_REQUEST_LIMIT' } | { allowed: false; code: 'CONSENT_REQUEST_COOLDOWN'; retryAfterSeconds: number };

export function mayAskAgain(earlier: EarlierAsking, now: Date, rules: { maxRequests: number; cooldownSeconds: number }): AskAgain {
  if (earlier.asked >= rules.maxRequests) return { allowed: false, code: 'CONSENT_REQUEST_LIMIT' };
  if (earlier.lastNoAt) {
    const waited = (now.getTime() - earlier.lastNoAt.getTime()) / 1000;
    if (waited < rules.cooldownSeconds) {
      return { allowed: false, code: 'CONSENT_REQUEST_COOLDOWN', retryAfterSeconds: Math.ceil(rules.cooldownSeconds - waited) };
    }
  }
  return { allowed: true };
}
