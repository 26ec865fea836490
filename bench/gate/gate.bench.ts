// bench:gate — what ConsentGate adds to a capture request.
//
// The service runs in its own process with probe routes
// (bench/gate/gate-server.ts) that differ only in the gate: `gated` asks
// ConsentGate.require() for a diagnostics grant (as captures do: answered
// from memory while the cache may), `gated-cold` reads the ledger on every
// request (what a cache miss costs), `bypassed` asks nothing, and
// `bypassed-twin` is `bypassed` again (an A/A control: the run's own noise).
// Clients keep CONCURRENCY requests in flight, rotating the routes request by
// request, so all see the same machine at the same moment. Last, the gate call
// alone is timed inside the service. The ledger holds
// background noise (other customers, and this customer's decisions in other
// conversations) so the index has work to do. Ends with one JSON line.
//
//   npm run bench:gate [-- --quick] [--seconds 20] [--concurrency 2] [--noise 2000]
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { AppConfig } from '../../src/config/app-config';
import { TokenService } from '../../src/identity/token.service';
import { benchDatabase, freePort, percentile, round, startNode, type Child } from '../support/processes';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
    noise: { type: 'string', default: '2000' },
  },
});
const SECONDS = Number(values.seconds ?? (values.quick ? 8 : 20));
const CONCURRENCY = Number(values.concurrency);
const NOISE_CUSTOMERS = Number(values.noise);
/** This customer's own decisions in other conversations, newer than the grant the gate must find. */
const OWN_OTHER_DECISIONS = 200;

// Loosely typed JSON answers: the bench reads a few known fields.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

function call(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; body: Json; ms: number }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : { 'content-length': 0 }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as Json, ms });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function expectStatus(p: Promise<{ status: number; body: Json }>, status: number): Promise<Json> {
  const res = await p;
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-gate-'));
  await chmod(work, 0o755);
  let server: Child | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  try {
    const port = await freePort();
    // One customer sends every request: the per-principal limit is raised so it measures the gate, not the limiter's refusals.
    const env: Record<string, string> = {
      DATA_DIR: work,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EMBEDDED_PG_PORT: String(await freePort()),
      RATE_LIMIT_PER_MINUTE: '1000000',
    };
    const database = await benchDatabase();
    if (database) {
      env.DATABASE_URL = database.url;
      dropDatabase = database.drop;
    }
    server = startNode(join(__dirname, 'gate-server.js'), env);
    const started = Date.now();
    while (!server.output().includes('listening')) {
      if (server.process.exitCode !== null || Date.now() - started > 90_000) throw new Error(`gate server did not start:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;

    // A customer's chat, taken by an agent, with diagnostics granted the real way.
    const tokens = new TokenService(AppConfig.fromEnv({}));
    const customerToken = await tokens.mint({ subject: 'bench-gate-customer', roles: ['customer'] });
    const agentToken = await tokens.mint({ subject: 'bench-gate-agent', roles: ['agent'] });
    const conversation = await expectStatus(call(`${base}/conversations`, 'POST', customerToken), 201);
    await expectStatus(call(`${base}/conversations/${conversation.id}/assign`, 'POST', agentToken, {}), 200);
    const asked = await expectStatus(call(`${base}/conversations/${conversation.id}/consent-requests`, 'POST', agentToken, { purposes: ['diagnostics'] }), 201);
    const prompt = asked.prompts[0];
    await expectStatus(call(`${base}/consent/requests/${prompt.requestId}/answer`, 'POST', customerToken, { decision: 'grant', textHash: prompt.textHash }), 200);

    // Noise in the ledger.
    const databaseUrl =
      env.DATABASE_URL ??
      `postgres://postgres:${encodeURIComponent((await readFile(join(work, '.postgres-password'), 'utf8')).trim())}@127.0.0.1:${env.EMBEDDED_PG_PORT}/support_desk`;
    const db = new Client({ connectionString: databaseUrl });
    db.on('error', () => undefined); // the server stops first when a run fails
    await db.connect();
    const [{ text_version_id: textVersionId, text_sha256: textSha256, customer_id: customerId }] = (
      await db.query(`SELECT text_version_id, text_sha256, customer_id FROM consent_events WHERE type = 'granted' LIMIT 1`)
    ).rows;
    await db.query(
      `WITH c AS (INSERT INTO customers (subject) SELECT 'bench-noise-' || g FROM generate_series(1, $1) g RETURNING id),
            v AS (INSERT INTO conversations (channel, status, customer_id, opened_at) SELECT 'chat', 'open', id, now() FROM c RETURNING id, customer_id)
       INSERT INTO consent_events (type, customer_id, purpose, scope, conversation_id, actor_kind, actor_id, channel, text_version_id, text_sha256, occurred_at)
       SELECT (ARRAY['granted', 'denied', 'withdrawn'])[1 + (g % 3)], v.customer_id, (ARRAY['diagnostics', 'chat_recording', 'call_recording'])[1 + (g % 3)],
              'conversation', v.id, 'customer', v.customer_id, 'chat', $2, $3, now()
         FROM v, generate_series(1, 5) g`,
      [NOISE_CUSTOMERS, textVersionId, textSha256],
    );
    await db.query(
      `WITH v AS (INSERT INTO conversations (channel, status, customer_id, opened_at) SELECT 'chat', 'open', $1, now() FROM generate_series(1, $2) RETURNING id)
       INSERT INTO consent_events (type, customer_id, purpose, scope, conversation_id, actor_kind, actor_id, channel, text_version_id, text_sha256, occurred_at)
       SELECT 'denied', $1, 'diagnostics', 'conversation', v.id, 'customer', $1, 'chat', $3, $4, now() FROM v`,
      [customerId, OWN_OTHER_DECISIONS, textVersionId, textSha256],
    );
    await db.query('ANALYZE');
    const ledgerRows = Number((await db.query(`SELECT count(*) FROM consent_events`)).rows[0].count);

    const urls = {
      gated: `${base}/bench/capture/gated/${conversation.id}`,
      cold: `${base}/bench/capture/gated-cold/${conversation.id}`,
      bypassed: `${base}/bench/capture/bypassed/${conversation.id}`,
      twin: `${base}/bench/capture/bypassed-twin/${conversation.id}`,
    };
    const check = await expectStatus(call(urls.gated, 'POST', customerToken), 201);
    if (check.legalBasis !== 'consent') throw new Error(`gate did not find the grant: ${JSON.stringify(check)}`);

    // Request by request in rotation: gated (as the gate runs), gated cold (every check a ledger read),
    // bypassed, and the bypassed twin (A/A control).
    const run = async (seconds: number) => {
      const order = ['gated', 'cold', 'bypassed', 'twin'] as const;
      const samples: Record<(typeof order)[number], number[]> = { gated: [], cold: [], bypassed: [], twin: [] };
      const deadline = Date.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, worker) => {
          for (let turn = worker; Date.now() < deadline; turn++) {
            const route = order[turn % order.length];
            const res = await call(urls[route], 'POST', customerToken);
            if (res.status !== 201) throw new Error(`capture probe answered ${res.status}: ${JSON.stringify(res.body)}`);
            samples[route].push(res.ms);
          }
        }),
      );
      for (const xs of Object.values(samples)) xs.sort((a, b) => a - b);
      return samples;
    };
    await run(Math.min(3, SECONDS / 4)); // warm-up: JIT, pools, caches
    const { gated, cold, bypassed, twin } = await run(SECONDS);
    const gateCall = await expectStatus(call(`${base}/bench/gate-call/${conversation.id}`, 'POST', customerToken), 201);
    await db.end();

    const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length });
    const g = stats(gated);
    const b = stats(bypassed);
    const t = stats(twin);
    const c = stats(cold);
    const result = {
      bench: 'gate',
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      ledger_rows: ledgerRows,
      ratio: round(g.p99 / b.p99, 3),
      added_p99_ms: round(g.p99 - b.p99, 3),
      added_p50_ms: round(g.p50 - b.p50, 3),
      added_mean_ms: round(g.mean - b.mean, 3),
      // Every check a ledger read: a cache miss (first check on an instance, or right after a change).
      cold_ratio: round(c.p99 / b.p99, 3),
      cold_added_p99_ms: round(c.p99 - b.p99, 3),
      cold_added_p50_ms: round(c.p50 - b.p50, 3),
      // The same route twice: how far apart two identical routes land in this run (the noise floor).
      aa_p99_ms: round(t.p99 - b.p99, 3),
      aa_p50_ms: round(t.p50 - b.p50, 3),
      // The gate call alone, timed inside the service, 5,000 calls one after another.
      gate_call_p50_ms: round(gateCall.warm.p50 as number, 3),
      gate_call_p99_ms: round(gateCall.warm.p99 as number, 3),
      cold_call_p50_ms: round(gateCall.cold.p50 as number, 3),
      cold_call_p99_ms: round(gateCall.cold.p99 as number, 3),
      gated_p50_ms: round(g.p50, 3),
      gated_p99_ms: round(g.p99, 3),
      bypassed_p50_ms: round(b.p50, 3),
      bypassed_p99_ms: round(b.p99, 3),
      gated_requests: gated.length,
      cold_requests: cold.length,
      bypassed_requests: bypassed.length,
      twin_requests: twin.length,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    agent.destroy();
    await server?.stop();
    await dropDatabase?.();
    await rm(work, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
