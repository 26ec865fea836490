import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
import { safeErrorText } from '../logging/logger';

interface Sidecar {
  contentType: string;
  metadata: Record<string, string>;
  sha256: string;
}

/**
 * Blobs as files under one root: `objects/<key>` holds the bytes, `meta/<key>.json`
 * the content type and metadata, `tmp/` the writes in flight. A write becomes
 * visible only by the final rename, so a reader never sees half a file.
 */
export class FsBlobStore implements BlobStore {
  readonly driver = 'fs' as const;
  private readonly objects: string;
  private readonly meta: string;
  private readonly tmp: string;

  constructor(root: string) {
    const base = resolve(root);
    this.objects = join(base, 'objects');
    this.meta = join(base, 'meta');
    this.tmp = join(base, 'tmp');
  }

  async put(key: string, body: Readable, options: PutBlobOptions): Promise<PutBlobResult> {
    return this.write(key, body, options).catch((err: unknown) => {
      throw storeError(err);
    });
  }

  private async write(key: string, body: Readable, options: PutBlobOptions): Promise<PutBlobResult> {
    const target = this.objectPath(key);
    assertValidMetadata(options.metadata);
    await mkdir(this.tmp, { recursive: true });
    const tmpData = join(this.tmp, randomUUID());
    const tmpMeta = `${tmpData}.json`;
    const hasher = new HashingStream();
    // flush: fsync before close, so the rename below never publishes bytes still in the page cache.
    const out = createWriteStream(tmpData, { flags: 'wx', mode: 0o600, flush: true });
    try {
      await pipeline(body, hasher, out);
      const sidecar: Sidecar = {
        contentType: options.contentType,
        metadata: { ...options.metadata },
        sha256: hasher.digest(),
      };
      await writeFile(tmpMeta, JSON.stringify(sidecar), { mode: 0o600 });
      // Metadata first: bytes without their sidecar would be an object without its tags.
      await this.moveInto(tmpMeta, this.metaPath(key));
      await this.moveInto(tmpData, target);
      return { key, size: hasher.bytes, sha256: sidecar.sha256 };
    } catch (err) {
      // The file may still be opening when the body fails: wait until it is closed, or it would outlive its unlink.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await Promise.all([unlinkQuietly(tmpData), unlinkQuietly(tmpMeta)]);
      throw err;
    }
  }

  async get(key: string): Promise<{ head: BlobHead; body: Readable }> {
    const head = await this.head(key);
    if (!head) throw new DomainException('BLOB_NOT_FOUND', 'No such object');
    return { head, body: createReadStream(this.objectPath(key)) };
  }

  async head(key: string): Promise<BlobHead | undefined> {
    const path = this.objectPath(key);
    const info = await stat(path).catch(ifMissing(undefined));
    if (!info?.isFile()) return undefined;
    const sidecar = await readFile(this.metaPath(key), 'utf8')
      .then((text) => JSON.parse(text) as Sidecar)
      .catch(ifMissing(undefined));
    return {
      key,
      size: info.size,
      contentType: sidecar?.contentType ?? 'application/octet-stream',
      metadata: sidecar?.metadata ?? {},
      lastModified: info.mtime,
    };
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteBlobsResult> {
    const result: DeleteBlobsResult = { deleted: [], failed: [] };
    for (const key of keys) {
      try {
        const path = this.objectPath(key);
        await unlinkQuietly(path);
        await unlinkQuietly(this.metaPath(key));
        await this.pruneEmptyDirs(dirname(path), this.objects);
        await this.pruneEmptyDirs(dirname(this.metaPath(key)), this.meta);
        result.deleted.push(key);
      } catch (err) {
        result.failed.push({ key, reason: safeErrorText(err) });
      }
    }
    return result;
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    assertValidPrefix(prefix);
    // Start at the deepest directory the prefix names, then filter by the full prefix.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = dirPart ? join(this.objects, ...dirPart.split('/')) : this.objects;
    for await (const path of walk(start)) {
      const key = relative(this.objects, path).split(sep).join('/');
      if (!key.startsWith(prefix)) continue;
      const info = await stat(path).catch(ifMissing(undefined));
      if (info) yield { key, size: info.size, lastModified: info.mtime };
    }
  }

  async ping(): Promise<void> {
    await mkdir(this.objects, { recursive: true });
    await mkdir(this.meta, { recursive: true });
    await mkdir(this.tmp, { recursive: true });
    await access(this.objects, constants.R_OK | constants.W_OK);
  }

  /** Validates the key and proves the path stays inside the root, whatever the key says. */
  private objectPath(key: string): string {
    assertValidKey(key);
    return contained(this.objects, key);
  }

  private metaPath(key: string): string {
    assertValidKey(key);
    return contained(this.meta, key) + '.json';
  }

  private async moveInto(from: string, to: string): Promise<void> {
    await mkdir(dirname(to), { recursive: true });
    try {
      await rename(from, to);
    } catch (err) {
      // A concurrent delete may have pruned the directory between mkdir and rename.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
    }
  }

  private async pruneEmptyDirs(dir: string, stop: string): Promise<void> {
    let current = dir;
    while (current.startsWith(stop + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty, or already gone
      }
      current = dirname(current);
    }
  }
}

function contained(root: string, key: string): string {
  const path = resolve(root, ...key.split('/'));
  if (!path.startsWith(root + sep)) {
    throw new DomainException('INVALID_BLOB_KEY', 'Invalid storage key: outside the store');
  }
  return path;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(ifMissing([]));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function ifMissing<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return fallback;
    throw err;
  };
}

async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(ifMissing(undefined));
}

/** The disk failing (unwritable, full, gone) is the store being unavailable (503), not a fault of ours (500). */
function storeError(err: unknown): unknown {
  if (err instanceof DomainException || typeof (err as { syscall?: unknown })?.syscall !== 'string') return err;
  return new DomainException('BLOB_STORE_UNAVAILABLE', 'The blob store could not complete the request', undefined, { cause: err });
}
