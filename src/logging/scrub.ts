/**
 * Personal data never reaches the log (R5.1, design invariant 7). Two layers:
 * keys that name personal fields are censored wherever they sit in a logged
 * object, and every written line is scrubbed of values that look like e-mail
 * addresses, phone numbers, IP addresses or tokens, whatever key carried them.
 */

const CENSORED = '[redacted]';

/** Compared lower-cased with '-' and '_' removed. */
const SENSITIVE_KEYS = new Set([
  'authorization',
  'cookie',
  'setcookie',
  'password',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'uploadtoken',
  'apikey',
  'body',
  'text',
  'content',
  'transcript',
  'email',
  'emailaddress',
  'phone',
  'phonenumber',
  'callernumber',
  'msisdn',
  'ip',
  'ipaddress',
  'remoteaddress',
  'xforwardedfor',
  'xrealip',
  'address',
  'displayname',
  'name',
  'filename',
]);

const MAX_DEPTH = 8;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(key.toLowerCase().replace(/[-_]/g, ''));
}

/** Deep copy of `value` with sensitive keys censored. Cycles and depth are bounded. */
export function censorKeys(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Errors go to the err serializer as they are (their fields are not enumerable).
  if (value instanceof Error || Object.prototype.toString.call(value) === '[object Error]') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => censorKeys(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = isSensitiveKey(key) && v !== undefined && v !== null ? CENSORED : censorKeys(v, depth + 1, seen);
  }
  return out;
}

const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // JSON Web Tokens and bearer credentials
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[token]'],
  // Diagnostics upload tokens (consent/upload-tokens.service.ts).
  [/\bsdu_[A-Za-z0-9_-]{16,}/g, '[token]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [token]'],
  // e-mail addresses
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, '[email]'],
  // IPv4, then IPv6 (full and compressed forms)
  [/(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g, '[ip]'],
  [/(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])/g, '[ip]'],
  [/(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?(?![\w:])/g, '[ip]'],
  // phone numbers: international (+31 6 1234 5678, 0031...) and Dutch national (06-12345678, 020 123 4567)
  [/(?<![\w-])(?:\+|00)[1-9]\d{0,2}[\s.-]?(?:\(0\)[\s.-]?)?\d(?:[\s.-]?\d){6,12}(?![\w-])/g, '[phone]'],
  [/(?<![\w.-])0[1-9](?:[\s.-]?\d){7,9}(?![\w-])/g, '[phone]'],
];

/** Replaces anything that looks like personal data in an already formatted line. */
export function scrubText(line: string): string {
  let out = line;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
