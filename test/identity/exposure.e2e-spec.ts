import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import { signTelephonyRequest } from '../../src/telephony/telephony-signature';
import { ChatClient } from '../support/chat-client';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

const SECRET = 'telephony-secret-for-the-exposure-tests-0123456789';

/** What the service exposes by default, and to whom (R5.1: least privilege). */
describe('exposure', () => {
  let app: TestApp;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await withClient(app.database.url, (c) => c.query<T>(text, params))).rows;

  beforeAll(async () => {
    app = await createTestApp({ env: { TELEPHONY_WEBHOOK_SECRET: SECRET } });
  });
  afterAll(() => app.close());

  /** A locally signed token with these times (seconds from now; null leaves the claim out). */
  const token = (roles: string[], times: { iat?: number | null; exp?: number | null }) => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(`t-${randomUUID()}`).setIssuer(app.config.auth.issuer).setAudience(app.config.auth.audience);
    if (times.iat !== null) jwt.setIssuedAt(now + (times.iat ?? 0));
    if (times.exp !== null && times.exp !== undefined) jwt.setExpirationTime(now + times.exp);
    return jwt.sign(new TextEncoder().encode(app.config.auth.hs256Secret));
  };

  describe('tokens', () => {
    it.each([
      ['without exp', ['agent'], { exp: null }, 'The access token has no valid expiry (exp)'],
      ['living for years', ['admin'], { exp: 3 * 365 * 24 * 3600 }, 'The access token lives longer than this service accepts (12 h at most)'],
      ['a staff token over 12 hours', ['privacy_officer'], { exp: 13 * 3600 }, 'The access token lives longer than this service accepts (12 h at most)'],
      ['a customer token over 24 hours', ['customer'], { exp: 25 * 3600 }, 'The access token lives longer than this service accepts (24 h at most)'],
      ['issued in the future', ['agent'], { iat: 600, exp: 3600 }, 'The access token was issued in the future (iat)'],
      ['long-lived without iat', ['agent'], { iat: null, exp: 48 * 3600 }, 'The access token lives longer than this service accepts (12 h at most)'],
    ])('refuses a token %s', async (_what, roles, times, message) => {
      const res = await request(app.url).get('/me').set(auth(await token(roles, times))).expect(401);
      expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message });
    });

    it('accepts tokens within the caps, and a small clock skew', async () => {
      await request(app.url).get('/me').set(auth(await token(['agent'], { exp: 12 * 3600 }))).expect(200);
      await request(app.url).get('/me').set(auth(await token(['customer'], { exp: 24 * 3600 }))).expect(200);
      await request(app.url).get('/me').set(auth(await token(['agent'], { iat: 30, exp: 3600 }))).expect(200);
    });

    it('closes a socket when its token expires', async () => {
      const socket = await ChatClient.connect(app.url, await token(['agent'], { exp: 2 }));
      const closed = new Promise<string>((resolve) => socket.socket.once('disconnect', (reason) => resolve(reason)));
      await expect(closed).resolves.toBe('io server disconnect');
      expect(socket.received.exception).toContainEqual({ code: 'UNAUTHENTICATED', message: 'The access token has expired; connect again with a new one' });
    });

    it('refuses them on the socket handshake too', async () => {
      const refused = await ChatClient.connect(app.url, await token(['agent'], { exp: null })).catch((err: { data?: unknown }) => err.data);
      expect(refused).toEqual({ code: 'UNAUTHENTICATED', message: 'The access token has no valid expiry (exp)' });
    });
  });

  it('marks every JSON answer no-store, errors included', async () => {
    const me = await request(app.url).get('/me').set(auth(await app.token('customer'))).expect(200);
    expect(me.headers['cache-control']).toBe('no-store');
    const missing = await request(app.url).get(`/conversations/${randomUUID()}`).set(auth(await app.token('customer'))).expect(404);
    expect(missing.headers['cache-control']).toBe('no-store');
    expect((await request(app.url).get('/privacy').expect(200)).headers['cache-control']).toBe('no-store');
  });

  it('keeps callers the phone system reported apart from token subjects of the same name', async () => {
    const body = JSON.stringify({ id: `evt-${randomUUID()}`, type: 'call.started', occurredAt: new Date().toISOString(), call: { id: `call-${randomUUID()}`, direction: 'inbound', from: '+31 6 5555 0101', queue: 'salaris' } });
    const timestamp = Math.floor(Date.now() / 1000);
    await request(app.url)
      .post('/telephony/events')
      .set('content-type', 'application/json')
      .set('x-telephony-timestamp', String(timestamp))
      .set('x-telephony-signature', signTelephonyRequest(SECRET, timestamp, body))
      .send(body)
      .expect(200);
    const [caller] = await sql<{ id: string; subject: string }>(`SELECT id, subject FROM customers WHERE subject_source = 'phone'`);
    expect(caller.subject).toMatch(/^caller:/);
    // A token naming the caller's subject is a customer of its own: it sees none of the caller's calls.
    const posing = await app.token('customer', caller.subject);
    const me = await request(app.url).get('/conversations').set(auth(posing)).expect(200);
    expect(me.body.items).toEqual([]);
    const rows = await sql<{ id: string; subject_source: string }>(`SELECT id, subject_source FROM customers WHERE subject = $1 ORDER BY subject_source`, [caller.subject]);
    expect(rows).toEqual([
      { id: caller.id, subject_source: 'phone' },
      { id: expect.not.stringMatching(caller.id), subject_source: 'token' },
    ]);
  });

  it('shows the privacy page in the language the app declared on the socket, whatever the browser sends', async () => {
    const customerToken = await app.token('customer', `cust-${randomUUID()}`);
    const socket = await ChatClient.connect(app.url, customerToken, { locale: 'en' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const page = await request(app.url).get('/me/privacy').set(auth(customerToken)).set('Accept-Language', 'nl-NL,nl;q=0.9').expect(200);
      expect(page.body.locale).toBe('en');
    } finally {
      socket.close();
    }
  });

  it('records the staff member’s role with a consent request in the audit trail', async () => {
    const customer = await ChatClient.connect(app.url, await app.token('customer', `cust-${randomUUID()}`));
    const agent = await ChatClient.connect(app.url, await app.token('agent', `agent-${randomUUID()}`));
    try {
      const { conversation } = await customer.call<{ conversation: { id: string } }>('conversation.open');
      await agent.call('conversation.take', { conversationId: conversation.id });
      await agent.call('consent.request', { conversationId: conversation.id, purposes: ['chat_recording'] });
      const rows = await sql(`SELECT actor_kind, actor_role FROM audit_events WHERE action = 'consent.requested' AND details->>'conversationId' = $1`, [conversation.id]);
      expect(rows).toEqual([{ actor_kind: 'staff', actor_role: 'agent' }]);
    } finally {
      customer.close();
      agent.close();
    }
  });

  it('answers an upload with the blob store unavailable as 503 with a code, leaving no row', async () => {
    const blocked = join(app.dataDir, 'not-a-directory');
    await writeFile(blocked, 'a file where the store should be');
    const broken = await createTestApp({ env: { STORAGE_FS_ROOT: join(blocked, 'blobs') } });
    try {
      const customerToken = await broken.token('customer', 'cust-store-down');
      const { body: conversation } = await request(broken.url).post('/conversations').set(auth(customerToken)).expect(201);
      const res = await request(broken.url)
        .post(`/conversations/${(conversation as { id: string }).id}/attachments`)
        .set(auth(customerToken))
        .attach('file', Buffer.from('factuur 2026-118'), 'factuur.txt')
        .expect(503);
      expect(res.body).toEqual({ code: 'BLOB_STORE_UNAVAILABLE', message: expect.any(String) });
      const rows = await withClient(broken.database.url, (c) => c.query(`SELECT state FROM artifacts`));
      expect(rows.rows).toEqual([]);
    } finally {
      await broken.close();
    }
  });
});

describe('the API document', () => {
  it.each([
    ['off', 404, 404, 404],
    ['staff', 401, 403, 200],
    ['public', 200, 200, 200],
  ])('API_DOCS=%s: without a token %i, as a customer %i, as staff %i', async (mode, anonymous, customer, staff) => {
    const app = await createTestApp({ env: { API_DOCS: mode } });
    try {
      for (const path of ['/docs/json', '/docs/yaml', '/docs']) {
        const get = (token?: string) => request(app.url).get(path).set(token ? { Authorization: `Bearer ${token}` } : {});
        expect([path, (await get()).status]).toEqual([path, anonymous]);
        expect([path, (await get(await app.token('customer'))).status]).toEqual([path, customer]);
        const res = await get(await app.token('agent'));
        expect([path, res.status]).toEqual([path, staff === 200 && path === '/docs' ? 200 : staff]);
        if (staff !== 200) expect(res.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      }
      // No copy of the document anywhere else.
      expect((await request(app.url).get('/docs-yaml')).status).toBe(404);
      expect((await request(app.url).get('/docs-json')).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});
