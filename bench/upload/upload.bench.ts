// bench:upload — a large upload through the service into the object store.
//
// The service (dist/main.js, its own process, STORAGE_DRIVER=s3) and a real
// S3 protocol server (s3rver, its own process) run side by side. A diagnostics
// bundle of SIZE bytes is sent to POST /conversations/:id/diagnostics with
// its single-use token from a real grant; in the same run the same bytes go
// straight to the same server with @aws-sdk/client-s3 (PutObject, streamed,
// same client settings). Figures: throughput of each, their ratio, and the
// service's resident memory before and at its peak during the upload.
// Ends with one JSON line.
//
//   npm run bench:upload [-- --quick] [--mb 500] [--rounds 3]
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { AppConfig } from '../../src/config/app-config';
import { TokenService } from '../../src/identity/token.service';
import { benchDatabase, freePort, round, startNode, startS3rver, waitForHttp, type Child } from '../support/processes';

const ROOT = join(__dirname, '..', '..', '..');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, mb: { type: 'string' }, rounds: { type: 'string', default: '3' } } });
const SIZE = Number(values.mb ?? (values.quick ? 100 : 500)) * 1024 * 1024;
/** Rounds of (direct, service), order alternating; the figures are the medians (single uploads on this machine vary by ±20%). */
const ROUNDS = Number(values.rounds);
const BUCKET = 'bench-upload';
const CHUNK = randomBytes(1024 * 1024);

/** SIZE bytes, a megabyte at a time (the same random megabyte: nothing here compresses or deduplicates). */
function payload(): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      if (sent >= SIZE) return void this.push(null);
      const n = Math.min(CHUNK.length, SIZE - sent);
      sent += n;
      this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    },
  });
}

function expectedSha256(): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < SIZE; sent += CHUNK.length) hash.update(CHUNK.subarray(0, Math.min(CHUNK.length, SIZE - sent)));
  return hash.digest('hex');
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function call(url: string, method: string, headers: Record<string, string>, body?: Buffer | Readable, length?: number): Promise<{ status: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, ...(length !== undefined ? { 'content-length': String(length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Json });
      });
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

async function json(url: string, method: string, token: string, body?: unknown): Promise<Json> {
  const payloadBuffer = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const res = await call(url, method, { authorization: `Bearer ${token}`, ...(payloadBuffer ? { 'content-type': 'application/json' } : {}) }, payloadBuffer, payloadBuffer?.length ?? 0);
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-upload-'));
  await chmod(work, 0o755);
  const children: Child[] = [];
  let dropDatabase: (() => Promise<void>) | undefined;
  try {
    const s3 = await startS3rver(join(work, 's3'), BUCKET);
    children.push(s3.child);

    const port = await freePort();
    const env: Record<string, string> = {
      DATA_DIR: join(work, 'service'),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EMBEDDED_PG_PORT: String(await freePort()),
      DIAGNOSTICS_MAX_MB: String(Math.ceil(SIZE / (1024 * 1024)) + 1),
      ...s3.env,
    };
    const database = await benchDatabase();
    if (database) {
      env.DATABASE_URL = database.url;
      dropDatabase = database.drop;
    }
    // BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service.
    const service = startNode(join(ROOT, 'dist', 'main.js'), env, [], process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean));
    children.push(service);
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/health/ready`, service);

    // Each upload through the service needs a diagnostics grant made the real way, for its single-use token.
    const tokens = new TokenService(AppConfig.fromEnv({}));
    const customer = await tokens.mint({ subject: 'bench-upload-customer', roles: ['customer'] });
    const agent = await tokens.mint({ subject: 'bench-upload-agent', roles: ['agent'] });
    const grant = async () => {
      const conversation = await json(`${base}/conversations`, 'POST', customer);
      await json(`${base}/conversations/${conversation.id}/assign`, 'POST', agent, {});
      const asked = await json(`${base}/conversations/${conversation.id}/consent-requests`, 'POST', agent, { purposes: ['diagnostics'] });
      const answer = await json(`${base}/consent/requests/${asked.prompts[0].requestId}/answer`, 'POST', customer, { decision: 'grant', textHash: asked.prompts[0].textHash });
      return { conversationId: conversation.id as string, token: answer.uploadToken.token as string };
    };
    const sha = expectedSha256();
    const client = s3.client;
    const pid = service.process.pid!;

    // Baseline: the same bytes straight into the same server.
    const direct = async (): Promise<number> => {
      const started = process.hrtime.bigint();
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'baseline/direct', Body: payload(), ContentLength: SIZE, ContentType: 'application/zip' }));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'baseline/direct' }));
      if (head.ContentLength !== SIZE) throw new Error(`direct upload stored ${head.ContentLength} bytes`);
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'baseline/direct' }));
      return seconds;
    };
    // Through the service, sampling its memory.
    let rssBefore = Infinity;
    let rssPeak = 0;
    const throughService = async (): Promise<number> => {
      const { conversationId, token } = await grant();
      rssBefore = Math.min(rssBefore, await rssOf(pid));
      const sampler = setInterval(() => void rssOf(pid).then((rss) => (rssPeak = Math.max(rssPeak, rss)), () => undefined), 25);
      const started = process.hrtime.bigint();
      const res = await call(`${base}/conversations/${conversationId}/diagnostics`, 'POST', { 'content-type': 'application/zip', 'x-upload-token': token }, payload(), SIZE);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      clearInterval(sampler);
      if (res.status !== 201) throw new Error(`upload through the service: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.body.size !== SIZE || res.body.sha256 !== sha) throw new Error(`stored ${res.body.size} bytes, sha ${res.body.sha256}`);
      // Each round starts from the same disk: the object goes (its key follows the service's layout).
      const id = res.body.id as string;
      const key = `diagnostics/${id.slice(0, 2)}/${id}`;
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      if (head.ContentLength !== SIZE || head.Metadata?.['artifact-id'] !== id) throw new Error(`the bucket holds ${head.ContentLength} bytes for ${id}`);
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      return seconds;
    };
    const directSeconds: number[] = [];
    const serviceSeconds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        directSeconds.push(await direct());
        serviceSeconds.push(await throughService());
      } else {
        serviceSeconds.push(await throughService());
        directSeconds.push(await direct());
      }
    }
    client.destroy();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

    const mb = SIZE / (1024 * 1024);
    const result = {
      bench: 'upload',
      mb,
      rounds: ROUNDS,
      ratio: round(median(directSeconds) / median(serviceSeconds), 3),
      service_mb_s: round(mb / median(serviceSeconds), 1),
      direct_mb_s: round(mb / median(directSeconds), 1),
      ratios_per_round: directSeconds.map((d, i) => round(d / serviceSeconds[i], 3)),
      service_rss_growth_mb: round((rssPeak - rssBefore) / (1024 * 1024), 1),
      service_rss_before_mb: round(rssBefore / (1024 * 1024), 1),
      service_rss_peak_mb: round(rssPeak / (1024 * 1024), 1),
      stored_sha256_matches: true,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await dropDatabase?.();
    await rm(work, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
