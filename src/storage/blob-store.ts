import type { Readable } from 'node:stream';
import { DomainException } from '../errors/domain.exception';

/** Injection token for the configured store. */
export const BLOB_STORE = Symbol('BLOB_STORE');

export interface PutBlobOptions {
  contentType: string;
  /** Small ASCII key/value pairs stored with the object (purpose, retention tag, retain_until, ...). */
  metadata?: Record<string, string>;
  /** When known, lets the S3 store send one streamed request instead of a multipart upload. */
  contentLength?: number;
}

export interface PutBlobResult {
  key: string;
  size: number;
  /** Hex SHA-256 of the bytes as stored, computed while streaming. */
  sha256: string;
}

export interface BlobHead {
  key: string;
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: Date;
}

export interface BlobListEntry {
  key: string;
  size: number;
  lastModified: Date;
}

export interface DeleteBlobsResult {
  /** Keys that no longer exist, including those that were already gone. */
  deleted: string[];
  /** `uncertain`: the request may have reached the store (a timeout, a reset), so the key may be gone all the same. */
  failed: { key: string; reason: string; uncertain?: boolean }[];
}

/**
 * Where captured bytes live. Keys are relative, '/'-separated paths;
 * nothing is ever buffered whole in memory.
 */
export interface BlobStore {
  readonly driver: 'fs' | 's3';
  put(key: string, body: Readable, options: PutBlobOptions): Promise<PutBlobResult>;
  /** Throws BLOB_NOT_FOUND when absent. */
  get(key: string): Promise<{ head: BlobHead; body: Readable }>;
  head(key: string): Promise<BlobHead | undefined>;
  /** Idempotent: deleting an absent key counts as deleted. */
  deleteMany(keys: readonly string[]): Promise<DeleteBlobsResult>;
  list(prefix: string): AsyncIterable<BlobListEntry>;
  /** Resolves when the store is reachable and writable in principle (readiness). */
  ping(): Promise<void>;
}

const MAX_KEY_BYTES = 1024;
const SEGMENT = /^[A-Za-z0-9!_.*'()=+,@-]+$/;

/**
 * One rule for both stores, so a key valid on the filesystem is valid on S3:
 * non-empty segments of safe characters, no '.' or '..', no leading slash.
 */
export function assertValidKey(key: string): void {
  const reason = keyProblem(key);
  if (reason) throw new DomainException('INVALID_BLOB_KEY', `Invalid storage key: ${reason}`);
}

export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith('/')) return 'absolute path';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (segment === '.' || segment === '..') return 'relative path segment';
    if (!SEGMENT.test(segment)) return 'characters outside A-Z a-z 0-9 and !_.*\'()=+,@-';
  }
  return undefined;
}

const META_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;
const META_VALUE = /^[\x20-\x7e]{0,1024}$/;

/** S3 user metadata is ASCII and travels in headers; the filesystem store keeps the same rule. */
export function assertValidMetadata(metadata: Record<string, string> | undefined): void {
  if (!metadata) return;
  let total = 0;
  for (const [k, v] of Object.entries(metadata)) {
    if (!META_KEY.test(k)) throw new DomainException('INVALID_BLOB_METADATA', `Invalid metadata key "${k}"`);
    if (typeof v !== 'string' || !META_VALUE.test(v)) {
      throw new DomainException('INVALID_BLOB_METADATA', `Invalid metadata value for "${k}": printable ASCII only`);
    }
    total += k.length + v.length;
  }
  if (total > 2048) throw new DomainException('INVALID_BLOB_METADATA', 'Metadata larger than 2 KB');
}
