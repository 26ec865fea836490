/**
 * Personal data never reaches the log (R5.1, design invariant 7). Two layers:
 * keys that name personal fields are censored wherever they sit in a logged
 * object, and every written line is scrubbed of values that look like e-mail
 * addresses, phone numbers (every Dutch notation), IBANs, BSNs, postcodes with
 * house numbers, KvK numbers, IP addresses or tokens, whatever key carried
 * them, also when percent-encoded or oddly spaced. The scrubber is the second
 * line: what a client sends is kept out of log calls in the first place.
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

/** Units after a number that make it a measurement, not an identifier. */
const UNIT = String.raw`\s?(?:bytes?|B|KB|MB|GB|ms|s|items?|rows?)\b`;
/** Between the digits of a phone number: a space, dot, slash or dash (any of the dashes), perhaps with spaces around it. */
const SEP = String.raw`(?:\s?[./\-\u2010-\u2015\u2212]\s?|\s)?`;

const PATTERNS: ReadonlyArray<readonly [RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // PostgreSQL's messages quote the input they refused, and its DETAIL lines hold row values.
  [/((?:invalid input (?:syntax|value) for [^:"]{1,60}|malformed [a-z ]{1,30}literal|out of range|invalid [a-z ]{1,30} for [^:"]{1,40}): )"(?:[^"\\]|\\.)*"/gi, '$1"[value]"'],
  [/\bvalue "(?:[^"\\]|\\.)*" is out of range/g, 'value "[value]" is out of range'],
  [/\bKey \(([^)]*)\)=\((?:[^()]|\([^)]*\))*\)/g, 'Key ($1)=([value])'],
  [/\bFailing row contains \(.*\)(?=\.?$)/g, 'Failing row contains ([row])'],
  // JSON Web Tokens and bearer credentials
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[token]'],
  // Diagnostics upload tokens (consent/upload-tokens.service.ts).
  [/\bsdu_[A-Za-z0-9_-]{16,}/g, '[token]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [token]'],
  // e-mail addresses
  // (letters of any script: jöhn@müller.nl is an address too)
  [/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu, '[email]'],
  // IBANs of any country, with or without spaces (checked against their mod-97 check digits)
  // (printed in groups of four with single spaces, or written together: never dashes, which UUIDs have)
  [/(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{1,4}){3,10}(?![A-Za-z0-9])/g, maskIbans],
  // IPv4, then IPv6 (full and compressed forms)
  [/(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g, '[ip]'],
  [/(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])/g, '[ip]'],
  [/(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?(?![\w:])/g, '[ip]'],
  // Phone numbers. International: +31 6 1234 5678, +31 (0)6-1234 5678, 0031612345678, +1 (415) 555-2671.
  [new RegExp(String.raw`(?<![\w+-])(?:\+|00)\s?[1-9]\d{0,2}\s?(?:\(\d{1,4}\)\s?)?(?:${SEP}\d){6,12}(?![\w:-])`, 'g'), '[phone]'],
  // Dutch, area code in brackets: (020) 123 45 67, (0)6 12345678.
  [new RegExp(String.raw`(?<![\w)])\(0\d{0,3}\)\s?\d(?:${SEP}\d){5,9}(?![\w:-])`, 'g'), '[phone]'],
  // Dutch national: 06-12345678, 06 12 34 56 78, 020-1234567, 088 123 4567.
  [new RegExp(String.raw`(?<![\w.-])0[1-9](?:${SEP}\d){7,9}(?![\w:-])`, 'g'), '[phone]'],
  // Dutch postcode, with a house number when one follows: 1234 AB 12, 1234AB, 1234 ab.
  [/(?<![\w-])[1-9]\d{3}[ \t]?([A-Za-z]{2})(?![A-Za-z])((?:[ \t]?,?[ \t]?\d{1,5}(?:[ \t]?[A-Za-z](?![A-Za-z]))?(?:-\d{1,4})?)?)(?![\w-])/g, maskPostcode],
  // BSN (burgerservicenummer): 9 digits passing the 11-test, or any 8-9 digits named as one.
  [/\b(?:bsn|burgerservicenummer|sofi(?:nummer)?)\b[\s:#.=-]*\d[\d .-]{6,10}\d\b/gi, '[bsn]'],
  [/(?<![\w-]|\d[.,])(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .-]\d{3}[ .-]\d{3}|\d{3}[ .-]\d{2}[ .-]\d{2}[ .-]\d{2})(?!\.?\d|[\w-])/g, maskBsn],
  // KvK (Chamber of Commerce) numbers: 8 digits that are not a date or a measurement.
  [new RegExp(String.raw`(?<![\w-]|\d[.,])\d{8}(?!\.?\d|[\w-]|${UNIT})`, 'g'), maskKvk],
];

/** Two-letter words and units after four digits that do not make a postcode (lower case; units in capitals too). */
const NOT_POSTCODE = new Set(
  'kb mb gb tb pb ms px am pm is at in of on to or as by an be do if it no so up us we me my he go ok id en op te de ik om al er nu je ze na ga'.split(' '),
);

function maskPostcode(match: string, letters: string): string {
  const lower = letters.toLowerCase();
  if (letters === letters.toUpperCase() ? ['kb', 'mb', 'gb', 'tb', 'pb', 'ms'].includes(lower) : NOT_POSTCODE.has(lower)) return match;
  return '[postcode]';
}

/** The 11-test (elfproef) every BSN passes. */
function maskBsn(match: string): string {
  const d = match.replace(/\D/g, '');
  if (d.length !== 9 || /^0+$/.test(d)) return match;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(d[i]) * (9 - i);
  sum -= Number(d[8]);
  return sum % 11 === 0 ? '[bsn]' : match;
}

function maskKvk(match: string): string {
  // yyyymmdd dates stay (file names, report days).
  if (/^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$/.test(match)) return match;
  return '[kvk]';
}

/** ISO 13616: the rearranged IBAN, letters as 10-35, is 1 modulo 97. */
function validIban(chars: string): boolean {
  const iban = chars.toUpperCase();
  if (iban.length < 15 || iban.length > 34 || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  let rest = 0;
  for (const c of iban.slice(4) + iban.slice(0, 4)) {
    const n = c >= 'A' ? c.charCodeAt(0) - 55 : Number(c);
    rest = (n >= 10 ? rest * 100 + n : rest * 10 + n) % 97;
  }
  return rest === 1;
}

/** Within a run that starts like an IBAN, masks the longest prefix ending on a group boundary that is one. */
function maskIbans(run: string): string {
  const ends: Array<[number, string]> = [];
  let chars = '';
  for (let i = 0; i < run.length; i++) {
    if (/[A-Za-z0-9]/.test(run[i])) {
      chars += run[i];
      if (i + 1 === run.length || !/[A-Za-z0-9]/.test(run[i + 1])) ends.push([i + 1, chars]);
    }
  }
  for (let k = ends.length - 1; k >= 0; k--) {
    const [end, candidate] = ends[k];
    if (validIban(candidate)) return `[iban]${run.slice(end)}`;
  }
  // Not one from its start: one may begin at a later group ("ref ab12 NL91ABNA0417164300").
  const next = / [A-Za-z]{2}\d{2}/.exec(run.slice(1));
  return next ? run.slice(0, next.index + 2) + maskIbans(run.slice(next.index + 2)) : run;
}

function applyPatterns(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) {
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

const ENCODED = /(?:%[0-9A-Fa-f]{2})+/g;
/** What a value may hide personal data behind: percent-encoding, '+' for space, unusual or repeated spacing. */
const DISGUISED = /%[0-9A-Fa-f]{2}|\+|\s{2}|[^\S ]|[\u00ad\u200b-\u200d\u2060\ufeff]/;

function percentDecode(text: string): string {
  let out = text;
  // Twice-encoded values (%2540) need a second round.
  for (let round = 0; round < 3 && ENCODED.test(out); round++) {
    ENCODED.lastIndex = 0;
    out = out.replace(ENCODED, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
  }
  ENCODED.lastIndex = 0;
  return out;
}

const normaliseSpacing = (text: string) => text.replace(/[\u00ad\u200b-\u200d\u2060\ufeff]/g, '').replace(/\s+/g, ' ');

/**
 * One value, scanned as written and decoded (percent-encoding, '+' as space,
 * spacing normalised). Where only the decoded form shows personal data, the
 * decoded form is what is written, masked.
 */
export function scrubValue(value: string): string {
  const masked = applyPatterns(value);
  if (!DISGUISED.test(value)) return masked;
  const decoded = normaliseSpacing(percentDecode(value));
  const decodedMasked = applyPatterns(decoded);
  const spaced = normaliseSpacing(decodedMasked.replace(/\+/g, ' '));
  const spacedMasked = applyPatterns(spaced);
  return decodedMasked === decoded && spacedMasked === spaced ? masked : spacedMasked;
}

/** A JSON string literal, escapes included. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * Replaces anything that looks like personal data in an already formatted
 * line. A JSON line (pino's) is scanned string by string, escapes decoded, so
 * numbers of the format itself (pid, byte counts, times) are left alone; any
 * other text is scanned whole.
 */
export function scrubText(line: string): string {
  if (!line.trimStart().startsWith('{')) return scrubValue(line);
  return line.replace(JSON_STRING, (literal) => {
    let value: unknown;
    try {
      value = JSON.parse(literal);
    } catch {
      return JSON.stringify(scrubValue(literal.slice(1, -1)));
    }
    if (typeof value !== 'string') return literal;
    const scrubbed = scrubValue(value);
    return scrubbed === value ? literal : JSON.stringify(scrubbed);
  });
}
