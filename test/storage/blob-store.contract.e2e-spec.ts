import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { DomainException } from '../../src/errors/domain.exception';
import type { BlobStore } from '../../src/storage/blob-store';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { createS3Client, S3BlobStore } from '../../src/storage/s3-blob-store';
import { makeTempDir } from '../support/postgres-server';
import { startS3Server, type TestS3Server } from '../support/s3-server';

interface Subject {
  name: string;
  store: BlobStore;
  teardown(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A stream of `size` pseudo-random bytes produced in chunks, never held whole. */
function generated(size: number, chunk = 64 * 1024): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const part = randomBytes(Math.min(chunk, left));
      left -= part.length;
      hash.update(part);
      this.push(part);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** A source that fails after sending some bytes, like a client that disconnects mid-upload. */
function failingAfter(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

async function keysOf(store: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of store.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(DomainException);
  await expect(promise).rejects.toMatchObject({ code });
}

const subjects: Array<[string, () => Promise<Subject>]> = [
  [
    'filesystem',
    async () => {
      const root = await makeTempDir('support-desk-blobs');
      return { name: 'fs', store: new FsBlobStore(root), teardown: () => rm(root, { recursive: true, force: true }) };
    },
  ],
  [
    's3 (s3rver over HTTP)',
    async () => {
      const server: TestS3Server = await startS3Server();
      const client = createS3Client(server.storageConfig);
      const store = new S3BlobStore(client, server.storageConfig);
      return {
        name: 's3',
        store,
        teardown: async () => {
          store.destroy();
          await server.dispose();
        },
      };
    },
  ],
];

describe.each(subjects)('BlobStore contract: %s', (_label, make) => {
  let subject: Subject;
  let store: BlobStore;

  beforeAll(async () => {
    subject = await make();
    store = subject.store;
  });
  afterAll(() => subject.teardown());

  it('answers ping when reachable', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('round-trips bytes, content type and metadata, and reports size and SHA-256', async () => {
    const data = randomBytes(100_000);
    const put = await store.put('conversations/c1/attachments/a1', Readable.from([data]), {
      contentType: 'application/pdf',
      metadata: { purpose: 'support', 'retention-tag': 'chat-12m', 'retain-until': '2027-11-25T00:00:00.000Z' },
      contentLength: data.length,
    });
    expect(put).toEqual({ key: 'conversations/c1/attachments/a1', size: data.length, sha256: sha256(data) });

    const head = await store.head('conversations/c1/attachments/a1');
    expect(head).toMatchObject({
      key: 'conversations/c1/attachments/a1',
      size: data.length,
      contentType: 'application/pdf',
      metadata: { purpose: 'support', 'retention-tag': 'chat-12m', 'retain-until': '2027-11-25T00:00:00.000Z' },
    });
    expect(head!.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);

    const got = await store.get('conversations/c1/attachments/a1');
    expect(got.head.size).toBe(data.length);
    expect(got.head.metadata.purpose).toBe('support');
    expect(sha256(await buffer(got.body))).toBe(sha256(data));
  });

  it('streams an upload of unknown length (multipart on S3) without changing a byte', async () => {
    const size = 12 * 1024 * 1024 + 123; // more than two 5 MiB parts
    const source = generated(size);
    const put = await store.put('big/unknown-length', source.stream, { contentType: 'application/octet-stream' });
    expect(put.size).toBe(size);
    expect(put.sha256).toBe(source.digest());
    const got = await store.get('big/unknown-length');
    const hash = createHash('sha256');
    for await (const chunk of got.body) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(put.sha256);
  });

  it('replaces an object written twice under one key', async () => {
    await store.put('replace/me', Readable.from([Buffer.from('first')]), { contentType: 'text/plain' });
    await store.put('replace/me', Readable.from([Buffer.from('second!')]), { contentType: 'text/markdown' });
    const got = await store.get('replace/me');
    expect((await buffer(got.body)).toString()).toBe('second!');
    expect(got.head.contentType).toBe('text/markdown');
  });

  it('reports a missing object as absent', async () => {
    await expect(store.head('nowhere/none')).resolves.toBeUndefined();
    await expectCode(store.get('nowhere/none'), 'BLOB_NOT_FOUND');
  });

  it('leaves nothing behind when the source fails mid-upload', async () => {
    await expect(
      store.put('failed/upload', failingAfter(256 * 1024), { contentType: 'application/octet-stream' }),
    ).rejects.toThrow('client went away');
    await expect(store.head('failed/upload')).resolves.toBeUndefined();
    expect(await keysOf(store, 'failed/')).toEqual([]);
  });

  it('lists by prefix, across pages', async () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `listing/p${i % 10}/k${String(i).padStart(4, '0')}`);
    await putAll(store, keys);
    await store.put('listing-other/x', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
    expect(await keysOf(store, 'listing/')).toEqual([...keys].sort());
    expect(await keysOf(store, 'listing/p3/')).toEqual(keys.filter((k) => k.startsWith('listing/p3/')).sort());
    expect(await keysOf(store, 'listing/p3/k00')).toEqual(['listing/p3/k0003', 'listing/p3/k0013', 'listing/p3/k0023', 'listing/p3/k0033', 'listing/p3/k0043', 'listing/p3/k0053', 'listing/p3/k0063', 'listing/p3/k0073', 'listing/p3/k0083', 'listing/p3/k0093']);
    expect(await keysOf(store, 'listing-')).toEqual(['listing-other/x']);
    for await (const entry of store.list('listing/p0/k0000')) {
      expect(entry).toMatchObject({ key: 'listing/p0/k0000', size: 1 });
      expect(entry.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('deletes in batches, treats absent keys as deleted, and reports invalid ones', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `deleting/p${i % 20}/k${i}`);
    await putAll(store, keys);
    const result = await store.deleteMany([...keys, 'deleting/never-existed', '../escape']);
    expect(result.deleted).toHaveLength(1501);
    expect(result.failed).toEqual([{ key: '../escape', reason: expect.stringContaining('Invalid storage key') }]);
    expect(await keysOf(store, 'deleting/')).toEqual([]);
    // Idempotent: deleting again changes nothing and fails nothing.
    await expect(store.deleteMany(keys.slice(0, 5))).resolves.toEqual({ deleted: keys.slice(0, 5), failed: [] });
  });

  it.each([
    ['parent escape', '../../etc/passwd'],
    ['absolute path', '/etc/passwd'],
    ['escape mid-key', 'a/../../b'],
    ['empty segment', 'a//b'],
    ['dot segment', './a'],
    ['trailing dot', 'a/.'],
    ['backslash', 'a\\b'],
    ['NUL byte', 'nul\u0000byte'],
    ['spaces', 'spaces are not allowed'],
    ['empty key', ''],
    ['over 1,024 bytes', 'x'.repeat(1025)],
  ])('refuses a key with %s everywhere', async (_label, key) => {
    await expectCode(store.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' }), 'INVALID_BLOB_KEY');
    await expectCode(store.get(key), 'INVALID_BLOB_KEY');
    await expectCode(store.head(key), 'INVALID_BLOB_KEY');
  });

  it('refuses metadata S3 cannot carry', async () => {
    const put = (metadata: Record<string, string>) =>
      store.put('meta/bad', Readable.from([Buffer.from('x')]), { contentType: 'text/plain', metadata });
    await expectCode(put({ Purpose: 'support' }), 'INVALID_BLOB_METADATA');
    await expectCode(put({ purpose: 'ondersteuning – é' }), 'INVALID_BLOB_METADATA');
    await expectCode(put({ big: 'x'.repeat(3000) }), 'INVALID_BLOB_METADATA');
    await expect(store.head('meta/bad')).resolves.toBeUndefined();
  });
});

describe('FsBlobStore', () => {
  let root: string;
  let store: FsBlobStore;

  beforeEach(async () => {
    root = await makeTempDir('support-desk-blobs');
    store = new FsBlobStore(join(root, 'store'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('never writes outside its root, whatever the key', async () => {
    await expectCode(
      store.put('../../etc/passwd', Readable.from([Buffer.from('owned')]), { contentType: 'text/plain' }),
      'INVALID_BLOB_KEY',
    );
    await expectCode(
      store.put('../outside', Readable.from([Buffer.from('owned')]), { contentType: 'text/plain' }),
      'INVALID_BLOB_KEY',
    );
    expect(existsSync(join(root, 'outside'))).toBe(false);
    expect(await readdir(root)).toEqual([]);
  });

  it('writes atomically: a failed upload leaves no temporary or partial file', async () => {
    await expect(store.put('a/b', failingAfter(1024 * 1024), { contentType: 'text/plain' })).rejects.toThrow();
    expect(await readdir(join(root, 'store', 'tmp'))).toEqual([]);
    expect(existsSync(join(root, 'store', 'objects', 'a', 'b'))).toBe(false);
  });

  it('prunes directories emptied by deletes', async () => {
    await store.put('deep/er/still/x', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
    await store.deleteMany(['deep/er/still/x']);
    expect(await readdir(join(root, 'store', 'objects'))).toEqual([]);
  });
});

describe('S3BlobStore with server-side encryption', () => {
  it('asks for encryption at rest on every put (R5.1) and still round-trips', async () => {
    const server = await startS3Server();
    const config = { ...server.storageConfig, serverSideEncryption: 'AES256' as const };
    const client = createS3Client(config);
    const sent: unknown[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        sent.push((args.input as { ServerSideEncryption?: string }).ServerSideEncryption);
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new S3BlobStore(client, config);
    try {
      await store.put('sse/known', Readable.from([Buffer.from('abc')]), { contentType: 'text/plain', contentLength: 3 });
      await store.put('sse/unknown', Readable.from([Buffer.from('x'.repeat(6 * 1024 * 1024))]), { contentType: 'text/plain' });
      expect((await buffer((await store.get('sse/known')).body)).toString()).toBe('abc');
      expect(sent.filter((v) => v !== undefined)).toEqual(expect.arrayContaining(['AES256']));
      expect(sent.filter((v) => v === 'AES256').length).toBeGreaterThanOrEqual(2); // PutObject and CreateMultipartUpload
    } finally {
      store.destroy();
      await server.dispose();
    }
  });
});

describe('S3BlobStore with the server down', () => {
  it('reports the store unavailable, and works again after a restart', async () => {
    const server = await startS3Server();
    const store = new S3BlobStore(createS3Client(server.storageConfig), server.storageConfig);
    try {
      await store.put('k/1', Readable.from([Buffer.from('x')]), { contentType: 'text/plain', contentLength: 1 });
      await server.stop();
      await expectCode(store.ping(), 'BLOB_STORE_UNAVAILABLE');
      await expectCode(
        store.put('k/2', Readable.from([Buffer.from('y')]), { contentType: 'text/plain', contentLength: 1 }),
        'BLOB_STORE_UNAVAILABLE',
      );
      const result = await store.deleteMany(['k/1']);
      expect(result.deleted).toEqual([]);
      // The server is down: the request never reached it, so the key surely still exists.
      expect(result.failed).toEqual([{ key: 'k/1', reason: expect.any(String), uncertain: false }]);
      await server.restart();
      await expect(store.ping()).resolves.toBeUndefined();
      await expect(store.deleteMany(['k/1'])).resolves.toEqual({ deleted: ['k/1'], failed: [] });
    } finally {
      store.destroy();
      await server.dispose();
    }
  });
});

async function putAll(store: BlobStore, keys: string[]): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let key = queue.shift(); key; key = queue.shift()) {
        await store.put(key, Readable.from([Buffer.from('1')]), { contentType: 'text/plain', contentLength: 1 });
      }
    }),
  );
}
