import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { signTelephonyRequest } from '../../src/telephony/telephony-signature';
import { ChatClient } from '../support/chat-client';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

const SECRET = 'telephony-test-secret-telephony-test-secret';

interface Conversation {
  id: string;
  channel: string;
  status: string;
  customerId: string;
  assignedAgentId: string | null;
  calls: Array<{ providerCallId: string; callerNumberMasked: string; answeredAt: string | null; endedAt: string | null; durationSeconds: number | null; queue: string }>;
}

describe('telephony webhook: call metadata from the phone system', () => {
  let app: TestApp;
  let agentToken: string;
  const count = async (table: string) =>
    (await withClient(app.database.url, (c) => c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))).rows[0].n;

  /** Posts an event the way the phone system does: raw JSON, timestamp and signature headers. */
  function post(event: object, options: { secret?: string; timestamp?: number; tamper?: boolean } = {}) {
    const body = JSON.stringify(event);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = signTelephonyRequest(options.secret ?? SECRET, timestamp, body);
    return request(app.url)
      .post('/telephony/events')
      .set('content-type', 'application/json')
      .set('x-telephony-timestamp', String(timestamp))
      .set('x-telephony-signature', signature)
      .send(options.tamper ? body.replace('inbound', 'outbound') : body);
  }

  const event = (type: string, call: object, at = new Date()) => ({ id: `evt-${randomUUID()}`, type, occurredAt: at.toISOString(), call });

  beforeAll(async () => {
    app = await createTestApp({ env: { TELEPHONY_WEBHOOK_SECRET: SECRET } });
    agentToken = await app.token('agent', 'agent-phone');
  });
  afterAll(() => app.close());

  it('turns a call into a call conversation in the agents’ queue, then assigns and closes it', async () => {
    const agent = await ChatClient.connect(app.url, agentToken);
    try {
      const started = new Date(Date.now() - 120_000);
      const callId = `call-${randomUUID()}`;
      await post(event('call.started', { id: callId, direction: 'inbound', from: '+31 6 1234 5678', queue: 'boekhouding' }, started)).expect(200, {
        status: 'accepted',
      });

      const queued = await agent.next<Conversation>('queue.added', (c) => c.channel === 'call');
      expect(queued).toMatchObject({ channel: 'call', status: 'open', assignedAgentId: null });
      expect(queued.calls).toEqual([
        expect.objectContaining({ providerCallId: callId, callerNumberMasked: '+31*****5678', queue: 'boekhouding', answeredAt: null }),
      ]);
      const listed = await request(app.url).get('/conversations?unassigned=true&channel=call').set('Authorization', `Bearer ${agentToken}`).expect(200);
      expect(listed.body.items.map((c: Conversation) => c.id)).toContain(queued.id);

      // The full number is nowhere in the database.
      const dump = await withClient(app.database.url, async (c) =>
        JSON.stringify([(await c.query('SELECT * FROM customers')).rows, (await c.query('SELECT * FROM calls')).rows]),
      );
      expect(dump).not.toMatch(/612345678|1234 5678/);

      await post(event('call.answered', { id: callId, direction: 'inbound', agentSubject: 'agent-phone' }, new Date(started.getTime() + 10_000))).expect(200);
      const assigned = await agent.next<Conversation>('conversation.assigned', (c) => c.id === queued.id);
      expect(assigned.calls[0].answeredAt).toBe(new Date(started.getTime() + 10_000).toISOString());

      await post(event('call.ended', { id: callId, direction: 'inbound' }, new Date(started.getTime() + 100_000))).expect(200);
      const closed = await agent.next<Conversation>('conversation.closed', (c) => c.id === queued.id);
      expect(closed.status).toBe('closed');
      expect(closed.calls[0]).toMatchObject({ durationSeconds: 100, endedAt: expect.any(String) });
    } finally {
      agent.close();
    }
  });

  it('joins a second call of the same caller to the open call conversation', async () => {
    const first = `call-${randomUUID()}`;
    const second = `call-${randomUUID()}`;
    await post(event('call.started', { id: first, direction: 'inbound', from: '0031 20 765 4321' })).expect(200);
    await post(event('call.started', { id: second, direction: 'inbound', from: '+31 20 765 4321' })).expect(200);
    const rows = await withClient(app.database.url, (c) =>
      c.query<{ conversation_id: string }>('SELECT conversation_id FROM calls WHERE provider_call_id = ANY($1)', [[first, second]]),
    );
    expect(rows.rows).toHaveLength(2);
    expect(rows.rows[0].conversation_id).toBe(rows.rows[1].conversation_id);
    // Ending one keeps the conversation open; ending both closes it.
    await post(event('call.ended', { id: first, direction: 'inbound' })).expect(200);
    const mid = await request(app.url).get(`/conversations/${rows.rows[0].conversation_id}`).set('Authorization', `Bearer ${agentToken}`).expect(200);
    expect(mid.body.status).toBe('open');
    await post(event('call.ended', { id: second, direction: 'inbound' })).expect(200);
  });

  it('accepts a replayed event id once and ignores it after', async () => {
    const e = event('call.started', { id: `call-${randomUUID()}`, direction: 'inbound', customerSubject: 'crm-4711' });
    await post(e).expect(200, { status: 'accepted' });
    const calls = await count('calls');
    await post(e).expect(200, { status: 'duplicate' });
    await post(e).expect(200, { status: 'duplicate' });
    expect(await count('calls')).toBe(calls);
  });

  it.each([
    ['a wrong secret', { secret: 'another-secret-another-secret-another-secret' }, 'INVALID_SIGNATURE'],
    ['a body changed after signing', { tamper: true }, 'INVALID_SIGNATURE'],
    ['a timestamp older than 5 minutes', { timestamp: Math.floor(Date.now() / 1000) - 301 }, 'STALE_REQUEST'],
  ])('refuses %s with 401 and stores nothing', async (_label, options, code) => {
    const before = { events: await count('telephony_events'), calls: await count('calls'), conversations: await count('conversations') };
    const res = await post(event('call.started', { id: `call-${randomUUID()}`, direction: 'inbound', from: '+31 6 9999 0000' }), options).expect(401);
    expect(res.body).toEqual({ code, message: expect.any(String) });
    expect({ events: await count('telephony_events'), calls: await count('calls'), conversations: await count('conversations') }).toEqual(before);
  });

  it('refuses an unsigned request with 401, before looking at its body', async () => {
    const res = await request(app.url).post('/telephony/events').send(event('call.started', { id: 'c', direction: 'inbound' })).expect(401);
    expect(res.body.code).toBe('INVALID_SIGNATURE');
    const junk = await request(app.url).post('/telephony/events').send({ nonsense: true }).expect(401);
    expect(junk.body).toEqual({ code: 'INVALID_SIGNATURE', message: 'The request is not signed' });
  });

  it('opens one call conversation when two calls of one caller start at once', async () => {
    const from = '+31 6 5555 0001';
    await Promise.all([
      post(event('call.started', { id: `call-${randomUUID()}`, direction: 'inbound', from })).expect(200),
      post(event('call.started', { id: `call-${randomUUID()}`, direction: 'inbound', from })).expect(200),
    ]);
    const open = await withClient(app.database.url, (c) =>
      c.query(
        `SELECT count(DISTINCT cv.id)::int AS n FROM conversations cv JOIN calls cl ON cl.conversation_id = cv.id
          WHERE cv.status = 'open' AND cl.caller_number_masked = '+31*****0001'`,
      ),
    );
    expect(open.rows).toEqual([{ n: 1 }]);
  });

  it('validates the event, storing nothing for a bad one', async () => {
    const before = await count('telephony_events');
    await post({ id: 'evt-bad', type: 'call.exploded', occurredAt: new Date().toISOString(), call: { id: 'x', direction: 'inbound' } }).expect(400);
    await post(event('call.answered', { id: `never-started-${randomUUID()}`, direction: 'inbound' })).expect(404);
    await post(event('call.started', { id: `call-${randomUUID()}`, direction: 'inbound' })).expect(400); // neither caller nor customer
    expect(await count('telephony_events')).toBe(before);
  });

  it('is off (503) without TELEPHONY_WEBHOOK_SECRET', async () => {
    const off = await createTestApp();
    try {
      const res = await request(off.url).post('/telephony/events').send(event('call.started', { id: 'c', direction: 'inbound' })).expect(503);
      expect(res.body.code).toBe('TELEPHONY_DISABLED');
    } finally {
      await off.close();
    }
  });
});
