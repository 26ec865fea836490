import { HttpException, HttpStatus } from '@nestjs/common';
import { DomainException, RetryLaterException } from './domain.exception';
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from './error-code';

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'VALIDATION_FAILED',
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHENTICATED',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'METHOD_NOT_ALLOWED',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RATE_LIMITED',
};

export interface MappedError {
  status: number;
  body: ErrorBody;
  /** True when the caller sees a generic message and the cause must be logged. */
  unexpected: boolean;
  headers?: Record<string, string>;
}

/** The single mapping from anything thrown to a status and a `{ code, message }` body. */
export function mapError(exception: unknown, correlationId: string): MappedError {
  if (exception instanceof RetryLaterException) {
    const retryAfterSeconds = Math.max(1, Math.ceil(exception.retryAfterSeconds));
    return {
      status: exception.status,
      body: { code: exception.code, message: exception.message, retryAfterSeconds },
      unexpected: false,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    };
  }
  if (exception instanceof DomainException) {
    return {
      status: exception.status,
      body: { code: exception.code, message: exception.message, ...(exception.details && { details: exception.details }) },
      unexpected: false,
    };
  }
  if (exception instanceof HttpException) {
    // Express's body parsers fail before any route runs; Nest wraps them with the parser's own words.
    return fromBodyParserError(exception.cause) ?? fromHttpException(exception, correlationId);
  }
  const parserError = fromBodyParserError(exception);
  if (parserError) return parserError;
  return internal(correlationId);
}

function fromHttpException(exception: HttpException, correlationId: string): MappedError {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (status === Number(HttpStatus.SERVICE_UNAVAILABLE)) {
    // Readiness checks (terminus) report which dependency is down.
    const failing = Object.keys((response as { error?: Record<string, unknown> }).error ?? {});
    return {
      status,
      body: { code: 'SERVICE_UNAVAILABLE', message: 'A dependency is not reachable', ...(failing.length && { details: failing }) },
      unexpected: false,
    };
  }
  if (status >= 500) return internal(correlationId);
  const code = CODE_BY_STATUS[status] ?? `HTTP_${status}`;
  // ValidationPipe reports one string per failed constraint.
  if (typeof response === 'object' && response !== null && Array.isArray((response as { message?: unknown }).message)) {
    const details = (response as { message: unknown[] }).message.map(String);
    return { status, body: { code, message: 'The request is not valid', details }, unexpected: false };
  }
  const message =
    typeof response === 'string'
      ? response
      : typeof (response as { message?: unknown }).message === 'string'
        ? (response as { message: string }).message
        : exception.message;
  return { status, body: { code, message: routeMessage(status, message) }, unexpected: false };
}

/** Nest's "Cannot GET /x" names the path, which may hold an id; keep the answer generic. */
function routeMessage(status: number, message: string): string {
  if (status === Number(HttpStatus.NOT_FOUND) && /^Cannot [A-Z]+ /.test(message)) return 'No such route';
  return message;
}

/** A body refused while it was read (malformed, too large, too deep): before any route or guard ran. */
export function isBodyRefusal(exception: unknown): boolean {
  return fromBodyParserError(exception instanceof HttpException ? exception.cause : exception) !== undefined;
}

/** Errors raised by Express's body parsers before any Nest code runs. */
function fromBodyParserError(exception: unknown): MappedError | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { type, status } = exception as { type?: unknown; status?: unknown };
  if (type === 'entity.parse.failed') {
    return { status: 400, body: { code: 'INVALID_JSON', message: 'The request body is not valid JSON' }, unexpected: false };
  }
  if (type === 'entity.too.deep') {
    return { status: 400, body: { code: 'NESTING_TOO_DEEP', message: 'The request body is nested too deep' }, unexpected: false };
  }
  if (type === 'entity.too.large') {
    return { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' }, unexpected: false };
  }
  if (typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500) {
    return {
      status,
      body: { code: CODE_BY_STATUS[status] ?? `HTTP_${status}`, message: 'The request could not be read' },
      unexpected: false,
    };
  }
  return undefined;
}

function internal(correlationId: string): MappedError {
  return {
    status: ERROR_STATUS.INTERNAL_ERROR,
    body: {
      code: 'INTERNAL_ERROR',
      message: 'Something went wrong on our side. Quote the correlation id when you contact support.',
      correlationId,
    },
    unexpected: true,
  };
}
