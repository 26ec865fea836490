// bench:chat — N customer/agent pairs exchanging acknowledged messages.
//
// 1. Saturation: every socket keeps one message in flight (send, wait for the
//    ack, send again) for a while; messages/s = acknowledgements per second.
// 2. Fixed rate: messages sent at RATE per second in total, spread over the
//    senders; latency = send until the peer receives the broadcast.
// Both run against the service (each message committed to PostgreSQL before
// its ack) and, in the same run, against a bare Socket.IO relay that stores
// nothing. Ends with one JSON line.
//
//   npm run bench:chat [-- --quick] [--pairs 200] [--rate 1000] [--seconds 15]
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { io, type Socket } from 'socket.io-client';
import { AppConfig } from '../../src/config/app-config';
import { TokenService } from '../../src/identity/token.service';
import { benchDatabase, freePort, percentile, round, startNode, waitForHttp, type Child } from '../support/processes';

const ROOT = join(__dirname, '..', '..', '..');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pairs: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string' },
  },
});
const PAIRS = Number(values.pairs ?? 200);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds ?? (values.quick ? 5 : 15));

interface Pair {
  conversationId: string;
  customer: Socket;
  agent: Socket;
}

interface Target {
  name: 'service' | 'relay';
  url: string;
  pairs: Pair[];
}

function connect(url: string, token?: string): Promise<Socket> {
  const socket = io(`${url}/chat`, { auth: token ? { token } : {}, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

let acknowledgedSends = 0;

async function ack<T>(socket: Socket, event: string, payload: unknown): Promise<T> {
  const answer = (await socket.timeout(30_000).emitWithAck(event, payload)) as T & { error?: { code: string; message: string } };
  if (answer?.error) throw new Error(`${event}: ${answer.error.code} ${answer.error.message}`);
  if (event === 'message.send') acknowledgedSends += 1;
  return answer;
}

async function inBatches<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => make(i + j)))));
  return out;
}

async function setUpService(url: string): Promise<Pair[]> {
  const tokens = new TokenService(AppConfig.fromEnv({}));
  return inBatches(PAIRS, 20, async (i) => {
    const customer = await connect(url, await tokens.mint({ subject: `bench-customer-${i}`, roles: ['customer'] }));
    const agent = await connect(url, await tokens.mint({ subject: `bench-agent-${i}`, roles: ['agent'] }));
    const { conversation } = await ack<{ conversation: { id: string } }>(customer, 'conversation.open', {});
    await ack(agent, 'conversation.take', { conversationId: conversation.id });
    return { conversationId: conversation.id, customer, agent };
  });
}

async function setUpRelay(url: string): Promise<Pair[]> {
  return inBatches(PAIRS, 20, async (i) => {
    const room = `room-${i}`;
    const customer = await connect(url);
    const agent = await connect(url);
    await Promise.all([ack(customer, 'join', room), ack(agent, 'join', room)]);
    return { conversationId: room, customer, agent };
  });
}

/** Closed loop: every socket sends, waits for its ack, sends again. */
async function saturate(target: Target, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let acked = 0;
  const senders = target.pairs.flatMap((p) => [
    { socket: p.customer, conversationId: p.conversationId },
    { socket: p.agent, conversationId: p.conversationId },
  ]);
  const started = Date.now();
  await Promise.all(
    senders.map(async ({ socket, conversationId }) => {
      while (Date.now() < deadline) {
        await ack(socket, 'message.send', { conversationId, clientMessageId: randomUUID(), body: 'Hoe zet ik mijn btw-aangifte klaar?' });
        acked += 1;
      }
    }),
  );
  return acked / ((Date.now() - started) / 1000);
}

/** Open loop at a fixed total rate: latency from send until the peer receives the message. */
async function fixedRate(target: Target, rate: number, seconds: number): Promise<{ p50: number; p99: number; max: number; count: number }> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const listeners: Array<() => void> = [];
  for (const pair of target.pairs) {
    for (const [receiver, conversationId] of [
      [pair.agent, pair.conversationId],
      [pair.customer, pair.conversationId],
    ] as const) {
      const listener = (m: { conversationId: string; clientMessageId: string }) => {
        const t = sentAt.get(`${m.conversationId}:${m.clientMessageId}:${receiver.id}`);
        if (t !== undefined) latencies.push(performance.now() - t);
      };
      receiver.on('message', listener);
      listeners.push(() => receiver.off('message', listener));
      void conversationId;
    }
  }
  const total = Math.round(rate * seconds);
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const pair = target.pairs[i % target.pairs.length];
    const fromCustomer = Math.floor(i / target.pairs.length) % 2 === 0;
    const [sender, peer] = fromCustomer ? [pair.customer, pair.agent] : [pair.agent, pair.customer];
    const clientMessageId = randomUUID();
    sentAt.set(`${pair.conversationId}:${clientMessageId}:${peer.id}`, performance.now());
    pending.push(ack(sender, 'message.send', { conversationId: pair.conversationId, clientMessageId, body: 'Ik zie de factuur niet terug.' }));
  }
  await Promise.all(pending);
  await new Promise((r) => setTimeout(r, 500));
  for (const off of listeners) off();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1], count: latencies.length };
}

async function measure(target: Target) {
  const warmup = await saturate(target, 1);
  void warmup;
  const throughput = await saturate(target, SECONDS);
  const latency = await fixedRate(target, RATE, SECONDS);
  return { throughput, latency };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'bench-chat-'));
  await chmod(work, 0o755);
  const children: Child[] = [];
  let dropDatabase: (() => Promise<void>) | undefined;
  try {
    // The service: compiled, in its own process, on a database of its own.
    const port = await freePort();
    const env: Record<string, string> = {
      DATA_DIR: work,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      EMBEDDED_PG_PORT: String(await freePort()),
      CHAT_RATE_LIMIT_PER_SECOND: '100000',
      CHAT_RATE_LIMIT_BURST: '100000',
    };
    const database = await benchDatabase();
    if (database) {
      env.DATABASE_URL = database.url;
      dropDatabase = database.drop;
    }
    // BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service.
    const service = startNode(join(ROOT, 'dist', 'main.js'), env, [], process.env.BENCH_SERVICE_NODE_ARGS?.split(' ').filter(Boolean));
    children.push(service);
    await waitForHttp(`http://127.0.0.1:${port}/health/ready`, service);

    const relayPort = await freePort();
    const relay = startNode(join(__dirname, 'relay.js'), {}, [String(relayPort)]);
    children.push(relay);
    while (!relay.output().includes('listening')) await new Promise((r) => setTimeout(r, 50));

    const serviceTarget: Target = { name: 'service', url: `http://127.0.0.1:${port}`, pairs: await setUpService(`http://127.0.0.1:${port}`) };
    const relayTarget: Target = { name: 'relay', url: `http://127.0.0.1:${relayPort}`, pairs: await setUpRelay(`http://127.0.0.1:${relayPort}`) };

    const relayResult = await measure(relayTarget);
    acknowledgedSends = 0;
    const serviceResult = await measure(serviceTarget);
    const serviceAcks = acknowledgedSends;

    // Every acknowledged message is in the database.
    const databaseUrl =
      env.DATABASE_URL ??
      `postgres://postgres:${encodeURIComponent((await readFile(join(work, '.postgres-password'), 'utf8')).trim())}@127.0.0.1:${env.EMBEDDED_PG_PORT}/support_desk`;
    const c = new Client({ connectionString: databaseUrl });
    await c.connect();
    const stored = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM chat_messages')).rows[0].n);
    await c.end();

    for (const p of [...serviceTarget.pairs, ...relayTarget.pairs]) {
      p.customer.close();
      p.agent.close();
    }
    const figures = {
      bench: 'chat',
      pairs: PAIRS,
      seconds: SECONDS,
      ratio: round(serviceResult.throughput / relayResult.throughput, 3),
      service_msgs_per_s: Math.round(serviceResult.throughput),
      relay_msgs_per_s: Math.round(relayResult.throughput),
      rate: RATE,
      service_p50_ms: round(serviceResult.latency.p50),
      service_p99_ms: round(serviceResult.latency.p99),
      relay_p50_ms: round(relayResult.latency.p50),
      relay_p99_ms: round(relayResult.latency.p99),
      latency_samples: serviceResult.latency.count,
      acknowledged: serviceAcks,
      stored_messages: stored,
    };
    process.stderr.write(
      `service: ${figures.service_msgs_per_s} msg/s, relay: ${figures.relay_msgs_per_s} msg/s, ratio ${figures.ratio}; ` +
        `at ${RATE} msg/s p50/p99 service ${figures.service_p50_ms}/${figures.service_p99_ms} ms, relay ${figures.relay_p50_ms}/${figures.relay_p99_ms} ms\n`,
    );
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await dropDatabase?.();
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
