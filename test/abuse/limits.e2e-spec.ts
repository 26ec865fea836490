import { randomUUID } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { io } from 'socket.io-client';
import request from 'supertest';
import { ChatClient } from '../support/chat-client';
import { FakeClock } from '../support/fake-clock';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * One abusive client cannot hurt others: rate limits per principal and per
 * address (REST and sockets share them), and caps on sockets, open chats,
 * consent prompts (R1.1) and stored bytes. Each at a small setting, so the
 * test reaches it quickly; the defaults are in the README.
 */
describe('abuse: limits and caps', () => {
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  // First in the file: nestjs-pino keeps the first application's logger for the whole process.
  describe('failed sign-ins and bogus upload tokens', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await createTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '10' } });
    });
    afterAll(() => app.close());

    it('answers a flood of bogus diagnostics tokens without an audit row each, and stops it at the address limit', async () => {
      const audited = async () =>
        (await withClient(app.database.url, (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events'))).rows[0].n;
      const before = await audited();
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) {
        const res = await request(app.url)
          .post(`/conversations/${randomUUID()}/diagnostics`)
          .set('x-upload-token', `sdu_${randomUUID().replaceAll('-', '')}`)
          .send(Buffer.from('bundle'));
        expect(res.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(403));
      expect(statuses.slice(10)).toEqual(Array(4).fill(429));
      expect(await audited()).toBe(before);
      expect(app.logs.text).toContain('diagnostics upload refused (UPLOAD_TOKEN_INVALID)');
    });
  });

  describe('rate limits', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '4' } });
    });
    afterAll(() => app.close());

    it('refuses a principal past its budget with 429, Retry-After and { code, message }, and leaves others alone', async () => {
      const token = await app.token('agent', 'agent-greedy');
      for (let i = 0; i < 5; i++) await request(app.url).get('/me').set(auth(token)).expect(200);
      const refused = await request(app.url).get('/conversations').set(auth(token)).expect(429);
      expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', message: expect.any(String), retryAfterSeconds: expect.any(Number) });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      await request(app.url).get('/me').set(auth(await app.token('agent', 'agent-calm'))).expect(200);
      // The same budget covers the principal's sockets: opening one costs a request too.
      const refusedSocket = await ChatClient.connect(app.url, token).catch((err: { data?: unknown }) => err.data);
      expect(refusedSocket).toMatchObject({ code: 'RATE_LIMITED', message: expect.any(String) });
    });

    it('counts refused requests too: a role that may not, or a route that does not exist', async () => {
      const token = await app.token('customer', 'cust-prober');
      for (let i = 0; i < 5; i++) await request(app.url).get('/audit').set(auth(token)).expect(403);
      await request(app.url).get('/me').set(auth(token)).expect(429);
    });

    it('counts socket events and REST requests of one principal together', async () => {
      const token = await app.token('agent', 'agent-socket');
      // The handshake is one, four events make five.
      const socket = await ChatClient.connect(app.url, token);
      for (let i = 0; i < 4; i++) await socket.call('queue.list');
      await request(app.url).get('/me').set(auth(token)).expect(429);
      await expect(socket.call('queue.list')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      socket.close();
    });

    it('limits routes without a token per client address, and failed sign-ins too; health checks are never limited', async () => {
      for (let i = 0; i < 4; i++) await request(app.url).get('/privacy').expect(200);
      const refused = await request(app.url).get('/consent/purposes').expect(429);
      expect(refused.body.code).toBe('RATE_LIMITED');
      await request(app.url).get('/me').set(auth('not-a-token')).expect(429);
      // A signed-in caller on the same address counts against their own budget, also on open routes.
      await request(app.url).get('/privacy').set(auth(await app.token('customer', 'cust-same-address'))).expect(200);
      for (let i = 0; i < 10; i++) await request(app.url).get('/health').expect(200);
    });
  });

  it('counts requests to routes that do not exist, and bodies refused while read, against the address', async () => {
    const app = await createTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' } });
    try {
      for (let i = 0; i < 2; i++) await request(app.url).get(`/no-such-route-${i}`).expect(404);
      // A body refused while it is read never reaches a route or a guard either.
      const deep = '['.repeat(5000) + ']'.repeat(5000);
      await request(app.url).patch('/me/profile').set('content-type', 'application/json').send(deep).expect(400);
      const refused = await request(app.url).post('/wp-login.php').send({ user: 'x' }).expect(429);
      expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', message: expect.any(String) });
      await request(app.url).patch('/me/profile').set('content-type', 'application/json').send(deep).expect(429);
      await request(app.url).get('/privacy').expect(429);
    } finally {
      await app.close();
    }
  });

  describe('caps', () => {
    let app: TestApp;
    const clock = new FakeClock();
    const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
      (await withClient(app.database.url, (c) => c.query<T>(text, params))).rows;

    /** A customer's chat taken by an agent, both connected; `run` gets them and closes the sockets after. */
    async function inTakenChat(subjects: [string, string], run: (c: { customer: ChatClient; agent: ChatClient; agentToken: string; conversationId: string }) => Promise<void>) {
      const agentToken = await app.token('agent', subjects[1]);
      const customer = await ChatClient.connect(app.url, await app.token('customer', subjects[0]));
      const agent = await ChatClient.connect(app.url, agentToken);
      try {
        const { conversation } = await customer.call<{ conversation: { id: string } }>('conversation.open');
        await agent.call('conversation.take', { conversationId: conversation.id });
        await run({ customer, agent, agentToken, conversationId: conversation.id });
      } finally {
        customer.close();
        agent.close();
      }
    }

    beforeAll(async () => {
      app = await createTestApp({
        clock,
        env: {
          SOCKETS_PER_PRINCIPAL_MAX: '2',
          OPEN_CONVERSATIONS_PER_CUSTOMER_MAX: '2',
          CONSENT_REQUEST_COOLDOWN_SECONDS: '300',
          CONSENT_REQUESTS_PER_CONVERSATION_MAX: '2',
          CUSTOMER_UPLOAD_MB_PER_DAY: '1',
        },
      });
    });
    afterAll(() => app.close());

    it('caps the sockets one principal holds open', async () => {
      const token = await app.token('customer', 'cust-sockets');
      const first = await ChatClient.connect(app.url, token);
      const second = await ChatClient.connect(app.url, token);
      const refused = await ChatClient.connect(app.url, token).catch((err: { data?: unknown }) => err.data);
      expect(refused).toEqual({ code: 'TOO_MANY_CONNECTIONS', message: expect.any(String) });
      // Another principal is not affected, and a closed socket frees its place.
      (await ChatClient.connect(app.url, await app.token('customer', 'cust-other'))).close();
      first.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      (await ChatClient.connect(app.url, token)).close();
      second.close();
    });

    it('caps the chats one customer has open, also when they open many at once', async () => {
      const token = await app.token('customer', 'cust-queue');
      const opened = await Promise.all(Array.from({ length: 6 }, () => request(app.url).post('/conversations').set(auth(token))));
      expect(opened.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409, 409]);
      const refused = opened.find((r) => r.status === 409)!;
      expect(refused.body).toEqual({ code: 'TOO_MANY_OPEN_CONVERSATIONS', message: expect.stringContaining('2') });
      // Closing one lets a new one open.
      const first = opened.find((r) => r.status === 201)!.body as { id: string };
      await request(app.url).post(`/conversations/${first.id}/close`).set(auth(token)).expect(200);
      await request(app.url).post('/conversations').set(auth(token)).expect(201);
    });

    it('after a "no", makes the agent wait before asking again, and asks a purpose only so often (R1.1)', async () => {
      await inTakenChat(['cust-pressed', 'agent-pressing'], async ({ customer, agent, agentToken, conversationId }) => {
        const conversation = { id: conversationId };
        const ask = () => agent.call<{ requests: Array<{ id: string }> }>('consent.request', { conversationId: conversation.id, purposes: ['diagnostics'] });
        const first = await ask();
        // Asking again while the question is open prompts the customer no second time.
        await ask();
        await ask();
        await customer.until((r) => (r['consent.requested'] ?? []).length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(customer.received['consent.requested']).toHaveLength(1);
        const prompt = (customer.received['consent.requested'][0] as { prompts: Array<{ requestId: string; textHash: string }> }).prompts[0];
        await customer.call('consent.answer', { requestId: prompt.requestId, decision: 'deny', textHash: prompt.textHash });
        expect(prompt.requestId).toBe(first.requests[0].id);

        const cooling = await request(app.url)
          .post(`/conversations/${conversation.id}/consent-requests`)
          .set(auth(agentToken))
          .send({ purposes: ['diagnostics'] })
          .expect(429);
        expect(cooling.body).toMatchObject({ code: 'CONSENT_REQUEST_COOLDOWN', retryAfterSeconds: 300 });
        expect(cooling.headers['retry-after']).toBe('300');
        await expect(ask()).rejects.toMatchObject({ code: 'CONSENT_REQUEST_COOLDOWN' });

        clock.advance(301_000);
        const second = await ask();
        await customer.until((r) => (r['consent.requested'] ?? []).length >= 2);
        const again = (customer.received['consent.requested'][1] as { prompts: Array<{ requestId: string; textHash: string }> }).prompts[0];
        expect(again.requestId).toBe(second.requests[0].id);
        await customer.call('consent.answer', { requestId: again.requestId, decision: 'deny', textHash: again.textHash });
        clock.advance(301_000);
        await expect(ask()).rejects.toMatchObject({ code: 'CONSENT_REQUEST_LIMIT' });
        // The refusals wrote nothing: two questions in the ledger, no more.
        const asked = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM consent_requests WHERE conversation_id = $1`, [conversation.id]);
        expect(asked).toEqual([{ n: 2 }]);
      });
    });

    it('answers requests naming the same purposes in other orders at once, without a deadlock', async () => {
      await inTakenChat(['cust-orders', 'agent-orders'], async ({ agentToken, conversationId }) => {
        const conversation = { id: conversationId };
        const purposes = ['diagnostics', 'chat_recording', 'transcription'];
        const answers = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            request(app.url)
              .post(`/conversations/${conversation.id}/consent-requests`)
              .set(auth(agentToken))
              .send({ purposes: i % 2 ? [...purposes].reverse() : purposes }),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual(Array(6).fill(201));
        const asked = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM consent_requests WHERE conversation_id = $1`, [conversation.id]);
        expect(asked).toEqual([{ n: 3 }]);
      });
    });

    it('caps the bytes a customer stores per 24 hours, leaving nothing half-written', async () => {
      const token = await app.token('customer', 'cust-uploads');
      const { body: conversation } = await request(app.url).post('/conversations').set(auth(token)).expect(201);
      const upload = (size: number) =>
        request(app.url).post(`/conversations/${(conversation as { id: string }).id}/attachments`).set(auth(token)).attach('file', Buffer.alloc(size, 'a'), 'notes.txt');
      await upload(600 * 1024).expect(201);
      const refused = await upload(600 * 1024).expect(429);
      expect(refused.body).toMatchObject({ code: 'UPLOAD_QUOTA_EXCEEDED', message: expect.any(String) });
      expect(await sql(`SELECT state, count(*)::int AS n FROM artifacts WHERE conversation_id = $1 GROUP BY state`, [(conversation as { id: string }).id])).toEqual([
        { state: 'stored', n: 1 },
      ]);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(24 * 3600 - 60);
      // What is left of the day still fits.
      await upload(300 * 1024).expect(201);
      clock.advance(24 * 3600 * 1000 + 1000);
      // Uploads at once cannot each count on the whole remainder: one takes it, the others wait.
      const parallel = await Promise.all(Array.from({ length: 5 }, () => upload(600 * 1024)));
      expect(parallel.map((r) => r.status).sort()).toEqual([201, 429, 429, 429, 429]);
      expect(await sql(`SELECT state, count(*)::int AS n FROM artifacts WHERE conversation_id = $1 GROUP BY state`, [(conversation as { id: string }).id])).toEqual([
        { state: 'stored', n: 3 },
      ]);
    });
  });

  describe('with several instances (RATE_LIMIT_STORE=redis)', () => {
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    let reachable = false;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      const { hostname, port } = new URL(redisUrl);
      reachable = await new Promise<boolean>((resolve) => {
        const s = netConnect(Number(port || 6379), hostname, () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (!reachable) return;
      const env = { RATE_LIMIT_STORE: 'redis', REDIS_URL: redisUrl, RATE_LIMIT_PER_MINUTE: '4' };
      a = await createTestApp({ env });
      b = await createTestApp({ env, database: a.database });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('counts one principal across every instance', async () => {
      if (!reachable) {
        // CI machines run Redis: there, its absence is a failure, not a skip.
        if (process.env.CI) throw new Error(`Redis is not reachable at ${redisUrl}`);
        process.stderr.write(`Redis is not reachable at ${redisUrl}: the shared-store case was not run\n`);
        return;
      }
      const token = await a.token('agent', `agent-${randomUUID()}`);
      await request(a.url).get('/me').set(auth(token)).expect(200);
      await request(b.url).get('/me').set(auth(token)).expect(200);
      await request(a.url).get('/me').set(auth(token)).expect(200);
      await request(b.url).get('/me').set(auth(token)).expect(200);
      const refused = await request(a.url).get('/me').set(auth(token)).expect(429);
      expect(refused.body.code).toBe('RATE_LIMITED');
      await request(b.url).get('/me').set(auth(token)).expect(429);
    });
  });

  it('refuses a socket from a page of another origin', async () => {
    const app = await createTestApp({ env: { SOCKET_ALLOWED_ORIGINS: 'https://support.example.nl' } });
    try {
      const token = await app.token('customer', 'cust-origin');
      const attempt = (origin?: string) =>
        new Promise<unknown>((resolve) => {
          const socket = io(`${app.url}/chat`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: origin ? { Origin: origin } : {} });
          socket.once('connect', () => (socket.close(), resolve('connected')));
          socket.once('connect_error', (err: Error & { data?: unknown }) => (socket.close(), resolve(err.data)));
        });
      expect(await attempt('https://evil.example.com')).toEqual({ code: 'ORIGIN_NOT_ALLOWED', message: expect.any(String) });
      expect(await attempt('null')).toEqual({ code: 'ORIGIN_NOT_ALLOWED', message: expect.any(String) });
      expect(await attempt('https://support.example.nl')).toBe('connected');
      expect(await attempt(app.url)).toBe('connected');
      expect(await attempt('http://localhost:5173')).toBe('connected');
      expect(await attempt()).toBe('connected');
    } finally {
      await app.close();
    }
  });
});
