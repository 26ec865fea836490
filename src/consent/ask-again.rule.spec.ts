import { mayAskAgain } from './ask-again.rule';

describe('mayAskAgain (R1.1)', () => {
  const now = new Date('2026-12-02T10:00:00Z');
  const rules = { maxRequests: 3, cooldownSeconds: 300 };
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it('lets the first question through', () => {
    expect(mayAskAgain({ asked: 0, lastNoAt: null }, now, rules)).toEqual({ allowed: true });
  });

  it('makes the agent wait after a no, and says how long', () => {
    expect(mayAskAgain({ asked: 1, lastNoAt: ago(60) }, now, rules)).toEqual({ allowed: false, code: 'CONSENT_REQUEST_COOLDOWN', retryAfterSeconds: 240 });
  });

  it('allows asking again once the pause has passed', () => {
    expect(mayAskAgain({ asked: 1, lastNoAt: ago(300) }, now, rules)).toEqual({ allowed: true });
  });

  it('stops at the most questions per conversation, pause or not', () => {
    expect(mayAskAgain({ asked: 3, lastNoAt: ago(86_400) }, now, rules)).toEqual({ allowed: false, code: 'CONSENT_REQUEST_LIMIT' });
    expect(mayAskAgain({ asked: 3, lastNoAt: null }, now, rules)).toEqual({ allowed: false, code: 'CONSENT_REQUEST_LIMIT' });
  });

  it('has no pause when the cool-down is 0', () => {
    expect(mayAskAgain({ asked: 2, lastNoAt: now }, now, { maxRequests: 3, cooldownSeconds: 0 })).toEqual({ allowed: true });
  });
});
