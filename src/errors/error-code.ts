import { HttpStatus } from '@nestjs/common';

/**
 * Stable error codes: clients branch on these, never on messages.
 * Adding a code means adding its status below; the compiler checks both lists agree.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  INVALID_JSON: HttpStatus.BAD_REQUEST,
  INVALID_BLOB_KEY: HttpStatus.BAD_REQUEST,
  INVALID_BLOB_METADATA: HttpStatus.BAD_REQUEST,
  UNAUTHENTICATED: HttpStatus.UNAUTHORIZED,
  INVALID_SIGNATURE: HttpStatus.UNAUTHORIZED,
  STALE_REQUEST: HttpStatus.UNAUTHORIZED,
  CONVERSATION_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONVERSATION_CLOSED: HttpStatus.CONFLICT,
  CONVERSATION_TAKEN: HttpStatus.CONFLICT,
  MESSAGE_TOO_LONG: HttpStatus.PAYLOAD_TOO_LARGE,
  TELEPHONY_DISABLED: HttpStatus.SERVICE_UNAVAILABLE,
  CALL_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONSENT_REQUIRED: HttpStatus.FORBIDDEN,
  CONSENT_NOT_NEEDED: HttpStatus.BAD_REQUEST,
  CONSENT_REQUEST_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONSENT_REQUEST_EXPIRED: HttpStatus.CONFLICT,
  CONSENT_REQUEST_ANSWERED: HttpStatus.CONFLICT,
  STALE_CONSENT_TEXT: HttpStatus.CONFLICT,
  PURPOSE_NOT_FOUND: HttpStatus.NOT_FOUND,
  PURPOSE_INACTIVE: HttpStatus.CONFLICT,
  PURPOSE_EXISTS: HttpStatus.CONFLICT,
  CONSENT_TEXT_NOT_FOUND: HttpStatus.NOT_FOUND,
  TEXT_NOT_READABLE: HttpStatus.UNPROCESSABLE_ENTITY,
  UPLOAD_TOKEN_INVALID: HttpStatus.FORBIDDEN,
  PURPOSE_MISMATCH: HttpStatus.FORBIDDEN,
  REASON_REQUIRED: HttpStatus.BAD_REQUEST,
  ARTIFACT_NOT_FOUND: HttpStatus.NOT_FOUND,
  ARTIFACT_NOT_AVAILABLE: HttpStatus.CONFLICT,
  BLOCKED_FILE_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  UPLOAD_INCOMPLETE: HttpStatus.BAD_REQUEST,
  TOO_MANY_FILES: HttpStatus.BAD_REQUEST,
  NESTING_TOO_DEEP: HttpStatus.BAD_REQUEST,
  REQUEST_TIMEOUT: HttpStatus.REQUEST_TIMEOUT,
  RETENTION_POLICY_NOT_FOUND: HttpStatus.NOT_FOUND,
  RECONCILE_RUNNING: HttpStatus.CONFLICT,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  BLOB_NOT_FOUND: HttpStatus.NOT_FOUND,
  METHOD_NOT_ALLOWED: HttpStatus.METHOD_NOT_ALLOWED,
  UNKNOWN_EVENT: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  TOO_MANY_CONNECTIONS: HttpStatus.TOO_MANY_REQUESTS,
  TOO_MANY_OPEN_CONVERSATIONS: HttpStatus.CONFLICT,
  CONSENT_REQUEST_COOLDOWN: HttpStatus.TOO_MANY_REQUESTS,
  CONSENT_REQUEST_LIMIT: HttpStatus.CONFLICT,
  UPLOAD_QUOTA_EXCEEDED: HttpStatus.TOO_MANY_REQUESTS,
  ORIGIN_NOT_ALLOWED: HttpStatus.FORBIDDEN,
  BLOB_STORE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  SERVICE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
} as const satisfies Record<string, HttpStatus>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error body every route and socket event returns. */
export interface ErrorBody {
  /** An ErrorCode, or HTTP_<status> for statuses without one. */
  code: string;
  message: string;
  /** Present on 500s: the request id, also sent as the x-request-id header. */
  correlationId?: string;
  /** Per-field reasons on VALIDATION_FAILED. */
  details?: string[];
  /** On limits that lift with time: seconds until a retry can succeed (also the Retry-After header). */
  retryAfterSeconds?: number;
}
