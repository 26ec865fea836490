import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3StorageConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import {
  assertValidKey,
  assertValidMetadata,
  assertValidPrefix,
  type BlobHead,
  type BlobListEntry,
  type BlobStore,
  type DeleteBlobsResult,
  type PutBlobOptions,
  type PutBlobResult,
} from './blob-store';
import { HashingStream } from './hashing-stream';

/** S3's own limit for one DeleteObjects request. */
export const DELETE_BATCH = 1000;

/** The SDK's own warnings (retries, stream errors) go to the service log, not the console. */
const sdkLogger = (() => {
  const logger = new Logger('S3');
  const describe = (a: unknown): string => {
    if (typeof a === 'string') return a;
    const { name, message } = (a ?? {}) as { name?: unknown; message?: unknown };
    return [name, message].filter((x) => typeof x === 'string').join(': ') || typeof a;
  };
  const text = (args: unknown[]) => args.map(describe).join(' ');
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...args: unknown[]) => logger.warn(text(args)),
    error: (...args: unknown[]) => logger.error(text(args)),
  };
})();

export function createS3Client(config: S3StorageConfig): S3Client {
  return new S3Client({
    logger: sdkLogger,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestChecksumCalculation: config.checksums,
    responseChecksumValidation: config.checksums,
  });
}

/** Any S3 API (AWS, MinIO). Streams in and out; never holds an object in memory. */
export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;

  constructor(
    private readonly client: S3Client,
    private readonly config: S3StorageConfig,
  ) {}

  async put(key: string, body: Readable, options: PutBlobOptions): Promise<PutBlobResult> {
    assertValidKey(key);
    assertValidMetadata(options.metadata);
    const hasher = new HashingStream();
    let sourceError: unknown;
    // A failing source destroys the hasher too, which aborts the request to S3.
    const piped = pipeline(body, hasher).catch((err: unknown) => {
      sourceError = err;
    });
    const input: PutObjectCommandInput = {
      Bucket: this.config.bucket,
      Key: key,
      Body: hasher,
      ContentType: options.contentType,
      Metadata: options.metadata,
      ServerSideEncryption: this.config.serverSideEncryption,
      SSEKMSKeyId: this.config.serverSideEncryption === 'aws:kms' ? this.config.kmsKeyId : undefined,
    };
    try {
      if (options.contentLength !== undefined) {
        // Length known: one streamed request, the fastest path with flat memory.
        await this.client.send(new PutObjectCommand({ ...input, ContentLength: options.contentLength }));
      } else {
        // Length unknown: multipart; part size x queue size bounds the memory used.
        await new Upload({
          client: this.client,
          params: input,
          partSize: this.config.partSizeBytes,
          queueSize: this.config.queueSize,
          leavePartsOnError: false,
        }).done();
      }
    } catch (err) {
      await piped;
      throw sourceError ? asError(sourceError) : unavailable(err);
    }
    await piped;
    if (sourceError) throw asError(sourceError);
    return { key, size: hasher.bytes, sha256: hasher.digest() };
  }

  async get(key: string): Promise<{ head: BlobHead; body: Readable }> {
    assertValidKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return {
        head: {
          key,
          size: out.ContentLength ?? 0,
          contentType: out.ContentType ?? 'application/octet-stream',
          metadata: out.Metadata ?? {},
          lastModified: out.LastModified ?? new Date(0),
        },
        body: out.Body as Readable,
      };
    } catch (err) {
      if (isNotFound(err)) throw new DomainException('BLOB_NOT_FOUND', 'No such object');
      throw unavailable(err);
    }
  }

  async head(key: string): Promise<BlobHead | undefined> {
    assertValidKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? 'application/octet-stream',
        metadata: out.Metadata ?? {},
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unavailable(err);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteBlobsResult> {
    const result: DeleteBlobsResult = { deleted: [], failed: [] };
    const valid: string[] = [];
    for (const key of keys) {
      try {
        assertValidKey(key);
        valid.push(key);
      } catch (err) {
        result.failed.push({ key, reason: (err as Error).message });
      }
    }
    for (let i = 0; i < valid.length; i += DELETE_BATCH) {
      const batch = valid.slice(i, i + DELETE_BATCH);
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failed = new Map<string, string>();
        for (const e of out.Errors ?? []) {
          // Already gone is what we wanted.
          if (e.Key && e.Code !== 'NoSuchKey') failed.set(e.Key, `${e.Code ?? 'Error'}: ${e.Message ?? ''}`.trim());
        }
        for (const key of batch) {
          const reason = failed.get(key);
          if (reason) result.failed.push({ key, reason });
          else result.deleted.push(key);
        }
      } catch (err) {
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        const uncertain = !neverReached(err);
        for (const key of batch) result.failed.push({ key, reason, uncertain });
      }
    }
    return result;
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    assertValidPrefix(prefix);
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.client, pageSize: 1000 },
        { Bucket: this.config.bucket, Prefix: prefix || undefined },
      )) {
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
        }
      }
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Closes the client's sockets on shutdown. */
  destroy(): void {
    this.client.destroy();
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket }));
    } catch (err) {
      throw unavailable(err);
    }
  }
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
  }
  return false;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function unavailable(err: unknown): Error {
  if (err instanceof DomainException) return err;
  return new DomainException('BLOB_STORE_UNAVAILABLE', 'The blob store could not complete the request', undefined, {
    cause: err,
  });
}

/** Errors that mean the request never reached the store (nothing can have been deleted). */
const UNREACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function neverReached(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHED.has(code)) return true;
    // After its retries the SDK wraps the socket error ("AWS SDK error wrapper for Error: connect ECONNREFUSED …").
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /\b(connect|getaddrinfo) (ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)\b/.test(message)) return true;
  }
  return false;
}
