import { DomainException } from '../errors/domain.exception';

/** Deeper than any request the service takes: a DTO is at most three levels. */
export const MAX_INPUT_DEPTH = 32;
/** Largest socket event payload, as a JSON text would be (HTTP bodies have the parser's own limit). */
export const MAX_SOCKET_PAYLOAD_BYTES = 256 * 1024;

/**
 * The nesting depth of a JSON text, read without parsing it, so a body nested
 * thousands of levels deep is refused before a recursive step (the parser,
 * class-transformer) sees it.
 */
export function jsonTextDepth(text: Buffer): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Refuses a parsed value nested deeper than MAX_INPUT_DEPTH or larger than
 * `maxBytes` (strings and keys counted as their UTF-16 length, a fair bound on
 * their JSON text). Iterative: the check itself cannot overflow the stack.
 */
export function assertInputShape(value: unknown, maxBytes: number): void {
  if (flatSize(value) <= maxBytes) return;
  const stack: Array<[unknown, number]> = [[value, 1]];
  let size = 0;
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item === 'string') size += item.length + 2;
    else if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) size += item.byteLength;
    else if (typeof item !== 'object' || item === null) size += 8;
    else {
      if (depth > MAX_INPUT_DEPTH) throw tooDeep();
      if (Array.isArray(item)) for (const v of item as unknown[]) stack.push([v, depth + 1]);
      else {
        for (const [k, v] of Object.entries(item)) {
          size += k.length + 3;
          stack.push([v, depth + 1]);
        }
      }
    }
    if (size > maxBytes) throw new DomainException('PAYLOAD_TOO_LARGE', `The payload is larger than ${Math.floor(maxBytes / 1024)} KB`);
  }
}

/**
 * The common case, checked without allocating (every chat message passes
 * here): a list of primitives and objects whose values are all primitives.
 * Anything nested deeper answers Infinity, and the full walk decides.
 */
function flatSize(value: unknown): number {
  if (!Array.isArray(value)) return Infinity;
  let size = 0;
  for (const item of value as unknown[]) {
    if (typeof item === 'string') size += item.length + 2;
    else if (typeof item !== 'object' || item === null) size += 8;
    else if (Array.isArray(item) || ArrayBuffer.isView(item)) return Infinity;
    else {
      for (const key in item) {
        if (!Object.prototype.hasOwnProperty.call(item, key)) continue;
        const v = (item as Record<string, unknown>)[key];
        if (typeof v === 'object' && v !== null) return Infinity;
        size += key.length + 3 + (typeof v === 'string' ? v.length + 2 : 8);
      }
    }
  }
  return size;
}

export function tooDeep(): DomainException {
  return new DomainException('NESTING_TOO_DEEP', `The payload is nested more than ${MAX_INPUT_DEPTH} levels deep`);
}
