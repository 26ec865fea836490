import { ERROR_STATUS, type ErrorCode } from './error-code';

/**
 * What services throw. The message is shown to the caller, so it must never
 * carry personal data (R5.1); the code is the stable contract.
 */
export class DomainException extends Error {
  override name = 'DomainException';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A refusal that lifts with time (rate limits, cool-downs, quotas): answered with Retry-After. */
export class RetryLaterException extends DomainException {
  override name = 'RetryLaterException';

  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}
