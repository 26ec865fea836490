import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ChatClient } from '../support/chat-client';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

interface Conversation {
  id: string;
  status: string;
  channel: string;
  customerId: string;
  assignedAgentId: string | null;
  messageCount: number;
  durationSeconds: number;
}

describe('conversations over REST, and who sees what', () => {
  let app: TestApp;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ Authorization: `Bearer ${tokens[who]}` });
  const api = () => request(app.url);

  /** Customer A's chat, taken by agent 1 and holding two messages; customer B's chat, still in the queue. */
  let a: Conversation;
  let b: Conversation;
  let agent1Id: string;

  beforeAll(async () => {
    app = await createTestApp();
    tokens.customerA = await app.token('customer', 'cust-a');
    tokens.customerB = await app.token('customer', 'cust-b');
    tokens.agent1 = await app.token('agent', 'agent-1');
    tokens.agent2 = await app.token('agent', 'agent-2');
    tokens.officer = await app.token('privacy_officer', 'officer-1');
    tokens.admin = await app.token('admin', 'admin-1');

    a = (await api().post('/conversations').set(as('customerA')).expect(201)).body;
    b = (await api().post('/conversations').set(as('customerB')).expect(201)).body;
    const taken = await api().post(`/conversations/${a.id}/assign`).set(as('agent1')).send({}).expect(200);
    agent1Id = taken.body.assignedAgentId;
    await api().post(`/conversations/${a.id}/messages`).set(as('customerA')).send({ clientMessageId: 'a1', body: 'Bericht van A' }).expect(201);
    await api().post(`/conversations/${a.id}/messages`).set(as('agent1')).send({ clientMessageId: 'g1', body: 'Antwoord' }).expect(201);
  });
  afterAll(() => app.close());

  describe('the customer', () => {
    it('opens a chat; with no language chosen they are addressed with the R2.2 defaults', async () => {
      expect(a).toMatchObject({ channel: 'chat', status: 'open', assignedAgentId: null, messageCount: 0 });
      const profile = await withClient(app.database.url, (c) => c.query('SELECT locale, country FROM customers WHERE subject = $1', ['cust-a']));
      expect(profile.rows).toEqual([{ locale: null, country: null }]);
      const page = await api().get('/me/privacy').set(as('customerA')).expect(200);
      expect(page.body).toMatchObject({ locale: 'nl-NL', formatLocale: 'nl-NL', country: 'NL' });
    });

    it('lists only their own conversations, whatever the filter says', async () => {
      const own = await api().get('/conversations').set(as('customerA')).expect(200);
      expect(own.body.items.map((c: Conversation) => c.id)).toEqual([a.id]);
      const sneaky = await api().get(`/conversations?customerId=${b.customerId}`).set(as('customerA')).expect(200);
      expect(sneaky.body.items).toEqual([]);
    });

    it('reads their history, paged by sequence', async () => {
      const first = await api().get(`/conversations/${a.id}/messages?limit=1`).set(as('customerA')).expect(200);
      expect(first.body).toMatchObject({ items: [{ seq: 1, body: 'Bericht van A' }], nextAfter: 1 });
      const second = await api().get(`/conversations/${a.id}/messages?after=1&limit=1`).set(as('customerA')).expect(200);
      expect(second.body).toMatchObject({ items: [{ seq: 2, body: 'Antwoord' }], nextAfter: null });
      const rest = await api().get(`/conversations/${a.id}/messages?after=2`).set(as('customerA')).expect(200);
      expect(rest.body).toEqual({ items: [], nextAfter: null });
    });

    it('may not assign', async () => {
      const res = await api().post(`/conversations/${a.id}/assign`).set(as('customerA')).send({}).expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });
  });

  describe('customer A against customer B, on every route and event', () => {
    const routes: Array<[string, () => request.Test]> = [
      ['GET /conversations/:id', () => api().get(`/conversations/${b.id}`)],
      ['GET /conversations/:id/messages', () => api().get(`/conversations/${b.id}/messages`)],
      ['POST /conversations/:id/messages', () => api().post(`/conversations/${b.id}/messages`).send({ clientMessageId: 'x', body: 'hack' })],
      ['POST /conversations/:id/close', () => api().post(`/conversations/${b.id}/close`)],
    ];

    it.each(routes)('%s answers 404 CONVERSATION_NOT_FOUND', async (_route, call) => {
      const res = await call().set(as('customerA')).expect(404);
      expect(res.body).toEqual({ code: 'CONVERSATION_NOT_FOUND', message: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toContain(b.customerId);
    });

    it.each([
      ['conversation.join', () => ({ conversationId: b.id, afterSeq: 0 })],
      ['message.send', () => ({ conversationId: b.id, clientMessageId: 'x', body: 'hack' })],
      ['conversation.close', () => ({ conversationId: b.id })],
      ['conversation.take', () => ({ conversationId: b.id })],
    ])('socket event %s is refused', async (event, payload) => {
      const client = await ChatClient.connect(app.url, tokens.customerA);
      try {
        await expect(client.call(event, payload())).rejects.toMatchObject({ code: expect.stringMatching(/^(CONVERSATION_NOT_FOUND|FORBIDDEN)$/) });
        // And nothing of B's reaches A's socket.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(JSON.stringify(client.received)).not.toContain(b.id);
      } finally {
        client.close();
      }
    });

    it('nothing was written into B’s conversation, and it is still open', async () => {
      const res = await api().get(`/conversations/${b.id}`).set(as('customerB')).expect(200);
      expect(res.body).toMatchObject({ status: 'open', messageCount: 0 });
    });
  });

  describe('agents', () => {
    it('see the unassigned queue and their own conversations, not another agent’s', async () => {
      const agent1 = await api().get('/conversations').set(as('agent1')).expect(200);
      expect(agent1.body.items.map((c: Conversation) => c.id).sort()).toEqual([a.id, b.id].sort());
      const agent2 = await api().get('/conversations').set(as('agent2')).expect(200);
      expect(agent2.body.items.map((c: Conversation) => c.id)).toEqual([b.id]);
      const queue = await api().get('/conversations?unassigned=true').set(as('agent1')).expect(200);
      expect(queue.body.items.map((c: Conversation) => c.id)).toEqual([b.id]);
      const mine = await api().get(`/conversations?agentId=${agent1Id}`).set(as('agent1')).expect(200);
      expect(mine.body.items.map((c: Conversation) => c.id)).toEqual([a.id]);
    });

    it('cannot read, write in or take another agent’s conversation', async () => {
      await api().get(`/conversations/${a.id}`).set(as('agent2')).expect(404);
      await api().get(`/conversations/${a.id}/messages`).set(as('agent2')).expect(404);
      await api().post(`/conversations/${a.id}/messages`).set(as('agent2')).send({ clientMessageId: 'x', body: 'y' }).expect(404);
      await api().post(`/conversations/${a.id}/assign`).set(as('agent2')).send({}).expect(404);
    });

    it('must take a queued conversation before reading its messages', async () => {
      const res = await api().get(`/conversations/${b.id}/messages`).set(as('agent2')).expect(403);
      expect(res.body).toEqual({ code: 'FORBIDDEN', message: 'Take the conversation first to read its messages' });
    });

    it('cannot assign a conversation to someone else', async () => {
      const res = await api().post(`/conversations/${b.id}/assign`).set(as('agent2')).send({ agentId: agent1Id }).expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });

    it('lose the race for a conversation another agent just took, with 409', async () => {
      const c = (await api().post('/conversations').set(as('customerB')).expect(201)).body as Conversation;
      const [first, second] = await Promise.all([
        api().post(`/conversations/${c.id}/assign`).set(as('agent1')).send({}),
        api().post(`/conversations/${c.id}/assign`).set(as('agent2')).send({}),
      ]);
      const statuses = [first.status, second.status].sort();
      // The loser either lost the row lock (409) or no longer sees the conversation at all (404).
      expect(statuses[0]).toBe(200);
      expect([404, 409]).toContain(statuses[1]);
      await api().post(`/conversations/${c.id}/close`).set(as('customerB')).expect(200);
    });
  });

  describe('privacy officers', () => {
    it('see every conversation’s metadata: who, when, how long, how many', async () => {
      const list = await api().get('/conversations').set(as('officer')).expect(200);
      const seen = list.body.items.find((c: Conversation) => c.id === a.id);
      expect(seen).toMatchObject({ customerId: a.customerId, assignedAgentId: agent1Id, messageCount: 2, durationSeconds: expect.any(Number) });
      expect(JSON.stringify(list.body)).not.toContain('Bericht van A');
    });

    it('get no message bodies through these routes', async () => {
      const res = await api().get(`/conversations/${a.id}/messages`).set(as('officer')).expect(403);
      expect(res.body).toEqual({ code: 'FORBIDDEN', message: 'Message content is not shown to this role' });
      const client = await ChatClient.connect(app.url, tokens.officer);
      try {
        await expect(client.call('conversation.join', { conversationId: a.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      } finally {
        client.close();
      }
    });

    it('cannot open, write or close', async () => {
      await api().post('/conversations').set(as('officer')).expect(403);
      await api().post(`/conversations/${a.id}/messages`).set(as('officer')).send({ clientMessageId: 'x', body: 'y' }).expect(404);
      await api().post(`/conversations/${a.id}/close`).set(as('officer')).expect(403);
    });
  });

  describe('admins', () => {
    it('see and read everything, and assign to any agent', async () => {
      await api().get(`/conversations/${a.id}/messages`).set(as('admin')).expect(200);
      await api().get('/conversations').set(as('agent2')).expect(200); // makes agent-2 known
      const agent2 = await withClient(app.database.url, (c) => c.query<{ id: string }>('SELECT id FROM staff_members WHERE subject = $1', ['agent-2']));
      const res = await api().post(`/conversations/${b.id}/assign`).set(as('admin')).send({ agentId: agent2.rows[0].id }).expect(200);
      expect(res.body.assignedAgentId).toBe(agent2.rows[0].id);
      const notAnAgent = await api().post(`/conversations/${b.id}/assign`).set(as('admin')).send({ agentId: randomUUID() }).expect(400);
      expect(notAnAgent.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('input', () => {
    it.each([
      ['GET', '/conversations/not-a-uuid'],
      ['GET', '/conversations/123/messages'],
      ['POST', '/conversations/abc/close'],
      ['POST', '/conversations/abc/assign'],
    ])('%s %s answers 400, not 500', async (method, path) => {
      const res = await (method === 'GET' ? api().get(path) : api().post(path).send({})).set(as('admin')).expect(400);
      expect(res.body).toEqual({ code: 'VALIDATION_FAILED', message: 'The id must be a UUID' });
    });

    it('refuses unknown query and body fields and bad filters', async () => {
      await api().get('/conversations?status=maybe').set(as('admin')).expect(400);
      await api().get('/conversations?limit=1000').set(as('admin')).expect(400);
      await api().get('/conversations?drop=table').set(as('admin')).expect(400);
      await api().get('/conversations?cursor=garbage').set(as('admin')).expect(400);
      const crafted = Buffer.from(`1|${'-'.repeat(36)}`).toString('base64url');
      await api().get(`/conversations?cursor=${crafted}`).set(as('admin')).expect(400);
      await api().get(`/conversations/${a.id}/messages?after=99999999999`).set(as('customerA')).expect(400);
      const res = await api().post(`/conversations/${a.id}/messages`).set(as('customerA')).send({ clientMessageId: 'z', body: 'x', seq: 1 }).expect(400);
      expect(res.body.details).toContain('property seq should not exist');
    });

    it('pages conversations with a cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await api()
          .get(`/conversations?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
          .set(as('admin'))
          .expect(200);
        seen.push(...res.body.items.map((c: Conversation) => c.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      const all = await api().get('/conversations?limit=100').set(as('admin')).expect(200);
      expect(seen).toEqual(all.body.items.map((c: Conversation) => c.id));
      expect(new Set(seen).size).toBe(seen.length);
    });
  });

  describe('closing', () => {
    it('is for the customer or the assigned agent, idempotent, and stops writing', async () => {
      await api().post(`/conversations/${a.id}/close`).set(as('agent2')).expect(404);
      const closed = await api().post(`/conversations/${a.id}/close`).set(as('customerA')).expect(200);
      expect(closed.body).toMatchObject({ status: 'closed', closedAt: expect.any(String) });
      await api().post(`/conversations/${a.id}/close`).set(as('agent1')).expect(200);
      const refused = await api().post(`/conversations/${a.id}/messages`).set(as('customerA')).send({ clientMessageId: 'late', body: 'x' }).expect(409);
      expect(refused.body.code).toBe('CONVERSATION_CLOSED');
      const filtered = await api().get('/conversations?status=closed').set(as('customerA')).expect(200);
      expect(filtered.body.items.map((c: Conversation) => c.id)).toEqual([a.id]);
    });
  });
});
