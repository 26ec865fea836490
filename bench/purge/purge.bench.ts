// bench:purge — purging expired artifacts with small objects in S3.
//
// s3rver and the service (for its embedded PostgreSQL, migrated) run in
// processes of their own. For each size (10,000 and 100,000; --quick: 10,000)
// the bench seeds that many expired artifacts (rows and 64-byte objects laid
// out as the service lays them out), then:
// - baseline: batched DeleteObjects (1,000 keys) + one SQL DELETE ... WHERE
//   id = ANY(...) per batch, over the same store and database;
// - the purge: `node dist/cli/purge.js` (claims, deletes objects, writes
//   tombstones and its run record), in its own process, its RSS sampled.
// Figures: items per second of each (the purge's from its run record), the
// ratio, and per size the purge process's peak RSS and its live heap (the
// most still in use after a full GC, forced once a second by
// support/heap-sampler.ts; that costs the purge a few per cent of its rate).
// Ends with one JSON line.
//
//   npm run bench:purge [-- --quick]
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { mapLimited } from '../../src/common/map-limited';
import { freePort, round, startNode, startS3rver, waitForHttp, type Child } from '../support/processes';

const ROOT = join(__dirname, '..', '..', '..');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const SIZES = values.quick ? [10_000] : [10_000, 100_000];
const BUCKET = 'bench-purge';
const BODY = Buffer.alloc(64, 7);

async function rssOf(pid: number): Promise<number> {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-purge-'));
  await chmod(work, 0o755);
  const children: Child[] = [];
  try {
    const s3 = await startS3rver(join(work, 's3'), BUCKET);
    children.push(s3.child);
    const s3Env = s3.env;
    const port = await freePort();
    const pgPort = await freePort();
    const service = startNode(join(ROOT, 'dist', 'main.js'), {
      DATA_DIR: join(work, 'service'),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EMBEDDED_PG_PORT: String(pgPort),
      PURGE_CRON: '0 0 1 1 *', // the bench runs the purge itself
      ...s3Env,
    });
    children.push(service);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service);
    const password = (await readFile(join(work, 'service', '.postgres-password'), 'utf8')).trim();
    const databaseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/support_desk`;
    const db = new Client({ connectionString: databaseUrl });
    db.on('error', () => undefined);
    await db.connect();
    const s3c = s3.client;
    const [{ id: customerId }] = (await db.query<{ id: string }>(`INSERT INTO customers (subject) VALUES ('bench-purge') RETURNING id`)).rows;
    const [{ id: conversationId }] = (
      // Closed long ago: its items' clock counts from the close, and an open chat's items are never due.
      await db.query<{ id: string }>(
        `INSERT INTO conversations (channel, status, customer_id, opened_at, closed_at) VALUES ('chat', 'closed', $1, now() - interval '3 years', now() - interval '2 years') RETURNING id`,
        [customerId],
      )
    ).rows;

    /** n expired artifacts: rows, and their objects in the service's key layout. */
    const seed = async (n: number): Promise<Array<{ id: string; key: string }>> => {
      const items = Array.from({ length: n }, () => {
        const id = randomUUID();
        return { id, key: `support/${id.slice(0, 2)}/${id}` };
      });
      for (let i = 0; i < n; i += 5000) {
        const chunk = items.slice(i, i + 5000);
        await db.query(
          `INSERT INTO artifacts (id, kind, conversation_id, customer_id, purpose, legal_basis, retention_tag, retain_until, state, storage_key, size, sha256,
                                  content_type, captured_by_kind, captured_at, stored_at)
           SELECT u.id, 'attachment', $3, $4, 'support', 'contract', 'support_chat', now() - interval '1 day', 'stored', u.key, 64, repeat('0', 64),
                  'application/octet-stream', 'system', now() - interval '2 years', now() - interval '2 years'
             FROM unnest($1::uuid[], $2::text[]) AS u(id, key)`,
          [chunk.map((c) => c.id), chunk.map((c) => c.key), conversationId, customerId],
        );
      }
      await mapLimited(items, 48, (item) => s3c.send(new PutObjectCommand({ Bucket: BUCKET, Key: item.key, Body: BODY, ContentLength: BODY.length })).then(() => undefined));
      await db.query('ANALYZE artifacts');
      return items;
    };

    const results: Record<string, number>[] = [];
    for (const n of SIZES) {
      // Baseline: the least a purge must do, batch by batch.
      const raw = await seed(n);
      const rawStarted = process.hrtime.bigint();
      for (let i = 0; i < raw.length; i += 1000) {
        const batch = raw.slice(i, i + 1000);
        const out = await s3c.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: batch.map((b) => ({ Key: b.key })), Quiet: true } }));
        if (out.Errors?.length) throw new Error(`baseline delete failed: ${out.Errors[0].Message}`);
        await db.query(`DELETE FROM artifacts WHERE id = ANY($1)`, [batch.map((b) => b.id)]);
      }
      const rawSeconds = Number(process.hrtime.bigint() - rawStarted) / 1e9;

      // The purge, as an operator runs it.
      await seed(n);
      const heapFile = join(work, `heap-${n}.json`);
      const purge = startNode(
        join(ROOT, 'dist', 'cli', 'purge.js'),
        { DATABASE_URL: databaseUrl, DATA_DIR: join(work, 'cli'), LOG_LEVEL: 'warn', PURGE_MAX_ITEMS_PER_RUN: String(n), HEAP_SAMPLE_FILE: heapFile, ...s3Env },
        [],
        ['--expose-gc', '-r', join(__dirname, '..', 'support', 'heap-sampler.js')],
      );
      let peak = 0;
      const sampler = setInterval(() => void rssOf(purge.process.pid!).then((rss) => (peak = Math.max(peak, rss))), 20);
      const code = await new Promise<number | null>((resolve) => purge.process.once('exit', resolve));
      clearInterval(sampler);
      if (code !== 0) throw new Error(`purge exited with ${code}:\n${purge.output()}`);
      const [run] = (
        await db.query<{ items_purged: number; seconds: number }>(
          `SELECT items_purged, EXTRACT(EPOCH FROM finished_at - started_at)::float AS seconds FROM purge_runs ORDER BY started_at DESC LIMIT 1`,
        )
      ).rows;
      if (run.items_purged !== n) throw new Error(`purged ${run.items_purged} of ${n}:\n${purge.output()}`);
      const left = (await db.query<{ n: string }>(`SELECT count(*) AS n FROM artifacts WHERE state <> 'purged'`)).rows[0].n;
      if (left !== '0') throw new Error(`${left} artifacts left unpurged`);
      const heap = JSON.parse(await readFile(heapFile, 'utf8')) as { samples: number; liveHeapMax: number };
      results.push({
        items: n,
        purge_items_per_s: round(n / run.seconds, 0),
        raw_items_per_s: round(n / rawSeconds, 0),
        ratio: round(rawSeconds / run.seconds, 3),
        purge_peak_rss_mb: round(peak / (1024 * 1024), 1),
        purge_live_heap_max_mb: round(heap.liveHeapMax / (1024 * 1024), 1),
        heap_samples: heap.samples,
      });
      await db.query(`DELETE FROM artifacts WHERE state = 'purged'`);
    }
    await db.end();
    s3c.destroy();
    const last = results[results.length - 1];
    process.stdout.write(
      `${JSON.stringify({ bench: 'purge', ratio: last.ratio, items: last.items, purge_items_per_s: last.purge_items_per_s, raw_items_per_s: last.raw_items_per_s, purge_peak_rss_mb: last.purge_peak_rss_mb, purge_live_heap_max_mb: last.purge_live_heap_max_mb, sizes: results })}\n`,
    );
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(work, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
