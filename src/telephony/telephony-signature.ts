import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainException } from '../errors/domain.exception';

/** A request older (or further ahead) than this is refused, so a captured request cannot be replayed later. */
export const MAX_SKEW_SECONDS = 300;

export const SIGNATURE_HEADER = 'x-telephony-signature';
/** For streamed uploads: the hex SHA-256 of the body, signed instead of the body itself. */
export const CONTENT_SHA256_HEADER = 'x-content-sha256';
/** Route metadata: the body is streamed, not parsed (see TelephonySignatureGuard). */
export const STREAMED_BODY = 'telephony:streamed-body';
export const TIMESTAMP_HEADER = 'x-telephony-timestamp';

/**
 * `v1=` + hex HMAC-SHA256 over `<timestamp>.<payload>`: the raw body, or for
 * a request without one (GET) its method and path, `GET /telephony/calls/…`.
 */
export function signTelephonyRequest(secret: string, timestamp: number, rawBody: Buffer | string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** What a request's signature covers: its raw body, or without a body its method and path (query included). */
export function signedPayload(method: string, originalUrl: string, rawBody: Buffer | undefined): Buffer | string {
  return rawBody && rawBody.length > 0 ? rawBody : `${method.toUpperCase()} ${originalUrl}`;
}

export function verifyTelephonyRequest(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  rawBody: Buffer | string | undefined,
  now: Date,
): void {
  const timestamp = Number(headers.timestamp);
  if (!headers.signature || !headers.timestamp || !Number.isInteger(timestamp) || rawBody === undefined) {
    throw new DomainException('INVALID_SIGNATURE', 'The request is not signed');
  }
  const expected = Buffer.from(signTelephonyRequest(secret, timestamp, rawBody));
  const given = Buffer.from(headers.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new DomainException('INVALID_SIGNATURE', 'The request signature does not match');
  }
  // Checked after the signature, so the timestamp itself is authentic.
  if (Math.abs(now.getTime() / 1000 - timestamp) > MAX_SKEW_SECONDS) {
    throw new DomainException('STALE_REQUEST', `The request timestamp is more than ${MAX_SKEW_SECONDS} seconds off`);
  }
}

/** +31 6 12345678 -> +31******5678: enough to recognise, not enough to call. */
export function maskPhoneNumber(raw: string): string {
  const normalised = normalisePhoneNumber(raw);
  const keepStart = normalised.startsWith('+') ? 3 : 2;
  if (normalised.length <= keepStart + 4) return `${normalised.slice(0, 1)}${'*'.repeat(Math.max(0, normalised.length - 3))}${normalised.slice(-2)}`;
  return `${normalised.slice(0, keepStart)}${'*'.repeat(normalised.length - keepStart - 4)}${normalised.slice(-4)}`;
}

/** Keyed hash of the normalised number: recognises a caller again without storing the number. */
export function hashPhoneNumber(secret: string, raw: string): string {
  return createHmac('sha256', secret).update(`caller-number:${normalisePhoneNumber(raw)}`).digest('hex');
}

export function normalisePhoneNumber(raw: string): string {
  const trimmed = raw.trim();
  const digits = trimmed.replace(/\D/g, '');
  if (trimmed.startsWith('+')) return `+${digits}`;
  if (digits.startsWith('00')) return `+${digits.slice(2)}`;
  return digits;
}
