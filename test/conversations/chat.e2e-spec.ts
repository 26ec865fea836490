import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { withClient } from '../support/postgres-server';
import { ChatClient } from '../support/chat-client';
import { createTestApp, type TestApp } from '../support/test-app';

interface Conversation {
  id: string;
  status: string;
  assignedAgentId: string | null;
  customerId: string;
  messageCount: number;
}
interface Message {
  id: string;
  conversationId: string;
  seq: number;
  body: string;
  sender: { kind: string; id: string };
}
interface Ack {
  id: string;
  seq: number;
  createdAt: string;
  duplicate: boolean;
}

describe('chat over Socket.IO (/chat)', () => {
  let app: TestApp;
  const clients: ChatClient[] = [];
  const connect = async (token: string) => {
    const client = await ChatClient.connect(app.url, token);
    clients.push(client);
    return client;
  };
  const rows = <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    withClient(app.database.url, async (c) => (await c.query<T>(sql, params)).rows);

  beforeAll(async () => {
    app = await createTestApp({ env: { CHAT_RATE_LIMIT_BURST: '1000', CHAT_RATE_LIMIT_PER_SECOND: '1000' } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(() => app.close());

  /** A customer opens a chat and an agent takes it. */
  async function openAndTake(customerSub = `cust-${randomUUID()}`, agentSub = `agent-${randomUUID()}`) {
    const customer = await connect(await app.token('customer', customerSub));
    const agent = await connect(await app.token('agent', agentSub));
    const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
    await agent.call('conversation.take', { conversationId: conversation.id });
    return { customer, agent, conversation };
  }

  it('runs a whole chat: open, queue, take, messages both ways, close', async () => {
    const agent = await connect(await app.token('agent', 'agent-flow'));
    const customer = await connect(await app.token('customer', 'cust-flow'));

    const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
    expect(conversation).toMatchObject({ status: 'open', assignedAgentId: null, messageCount: 0, channel: 'chat' });

    // The agent sees it arrive in the queue, and in the queue listing.
    await agent.next<Conversation>('queue.added', (c) => c.id === conversation.id);
    const { conversations } = await agent.call<{ conversations: Conversation[] }>('queue.list');
    expect(conversations.map((c) => c.id)).toContain(conversation.id);

    const { conversation: taken } = await agent.call<{ conversation: Conversation }>('conversation.take', { conversationId: conversation.id });
    expect(taken.assignedAgentId).toEqual(expect.any(String));
    expect(await customer.next<Conversation>('conversation.assigned', (c) => c.id === conversation.id)).toMatchObject({
      assignedAgentId: taken.assignedAgentId,
    });
    const removed = await agent.next<{ conversationId: string }>('queue.removed', (e) => e.conversationId === conversation.id);
    expect(removed).toEqual({ conversationId: conversation.id });

    const ack1 = await customer.call<Ack>('message.send', { conversationId: conversation.id, clientMessageId: 'c-1', body: 'Mijn factuur klopt niet' });
    expect(ack1).toMatchObject({ seq: 1, duplicate: false });
    const atAgent = await agent.next<Message>('message', (m) => m.seq === 1);
    expect(atAgent).toMatchObject({ body: 'Mijn factuur klopt niet', sender: { kind: 'customer', id: conversation.customerId } });

    const ack2 = await agent.call<Ack>('message.send', { conversationId: conversation.id, clientMessageId: 'a-1', body: 'Ik kijk even mee' });
    expect(ack2.seq).toBe(2);
    expect(await customer.next<Message>('message', (m) => m.seq === 2)).toMatchObject({ sender: { kind: 'staff', id: taken.assignedAgentId } });

    const { conversation: closed } = await agent.call<{ conversation: Conversation }>('conversation.close', { conversationId: conversation.id });
    expect(closed).toMatchObject({ status: 'closed', messageCount: 2 });
    await customer.next<Conversation>('conversation.closed', (c) => c.id === conversation.id);
    await expect(customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'c-2', body: 'nog iets' })).rejects.toMatchObject({
      code: 'CONVERSATION_CLOSED',
    });
    expect(await rows('SELECT seq, body FROM chat_messages WHERE conversation_id = $1 ORDER BY seq', [conversation.id])).toEqual([
      { seq: 1, body: 'Mijn factuur klopt niet' },
      { seq: 2, body: 'Ik kijk even mee' },
    ]);
  });

  it('acknowledges a resend with the same client message id once, storing one row', async () => {
    const { customer, agent, conversation } = await openAndTake();
    const send = () => customer.call<Ack>('message.send', { conversationId: conversation.id, clientMessageId: 'same-id', body: 'hallo' });
    const first = await send();
    const again = await send();
    // Also two at once, racing into the same batch.
    const [x, y] = await Promise.all([send(), send()]);
    expect(first).toMatchObject({ seq: 1, duplicate: false });
    for (const ack of [again, x, y]) expect(ack).toEqual({ ...first, duplicate: true });
    expect(await rows('SELECT count(*)::int AS n FROM chat_messages WHERE conversation_id = $1', [conversation.id])).toEqual([{ n: 1 }]);
    // The same id from the other participant is their own message.
    expect(await agent.call<Ack>('message.send', { conversationId: conversation.id, clientMessageId: 'same-id', body: 'hoi' })).toMatchObject({
      seq: 2,
      duplicate: false,
    });
  });

  it('numbers 200 concurrent sends 1..200 with no gap or duplicate, in commit order', async () => {
    const { customer, agent, conversation } = await openAndTake();
    const senders = [customer, agent];
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        senders[i % 2].call<Ack>('message.send', { conversationId: conversation.id, clientMessageId: `m-${i}`, body: `bericht ${i}` }),
      ),
    );
    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const stored = await rows<{ seq: number; created_at: Date; client_message_id: string }>(
      'SELECT seq, created_at, client_message_id FROM chat_messages WHERE conversation_id = $1 ORDER BY seq',
      [conversation.id],
    );
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // Each ack names the row that holds that number.
    const bySeq = new Map(stored.map((r) => [r.seq, r.client_message_id]));
    acks.forEach((ack, i) => expect(bySeq.get(ack.seq)).toBe(`m-${i}`));
    // Commit order: a later sequence number is never stamped earlier.
    for (let i = 1; i < stored.length; i++) expect(stored[i].created_at.getTime()).toBeGreaterThanOrEqual(stored[i - 1].created_at.getTime());
    expect(await rows('SELECT last_seq FROM conversations WHERE id = $1', [conversation.id])).toEqual([{ last_seq: 200 }]);
    // Both sides received all 200, each in order.
    for (const side of senders) {
      await side.next<Message>('message', (m) => m.conversationId === conversation.id && m.seq === 200);
      const seqs = (side.received.message as Message[]).filter((m) => m.conversationId === conversation.id).map((m) => m.seq);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    }
  });

  it('emits a message only after it is committed', async () => {
    const { customer, agent, conversation } = await openAndTake();
    const seenInDatabase: boolean[] = [];
    const checks: Promise<void>[] = [];
    agent.socket.on('message', (m: Message) => {
      // Asked on another connection the moment the event arrives: the row must already be visible.
      checks.push(rows('SELECT 1 FROM chat_messages WHERE id = $1', [m.id]).then((r) => void seenInDatabase.push(r.length === 1)));
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => customer.call('message.send', { conversationId: conversation.id, clientMessageId: `v-${i}`, body: 'x' })),
    );
    await agent.next<Message>('message', (m) => m.conversationId === conversation.id && m.seq === 20);
    await Promise.all(checks);
    expect(seenInDatabase).toHaveLength(20);
    expect(seenInDatabase.every(Boolean)).toBe(true);
  });

  it('resumes after a reconnect: the client passes its last sequence and misses nothing', async () => {
    const customerSub = `cust-${randomUUID()}`;
    const { customer, agent, conversation } = await openAndTake(customerSub);
    for (let i = 0; i < 5; i++) await agent.call('message.send', { conversationId: conversation.id, clientMessageId: `r-${i}`, body: `voor ${i}` });
    await customer.next<Message>('message', (m) => m.seq === 5);
    const lastSeen = Math.max(...(customer.received.message as Message[]).map((m) => m.seq));
    customer.close();

    // While the customer is away.
    for (let i = 5; i < 12; i++) await agent.call('message.send', { conversationId: conversation.id, clientMessageId: `r-${i}`, body: `tijdens ${i}` });

    const back = await connect(await app.token('customer', customerSub));
    const resumed = await back.call<{ conversation: Conversation; messages: Message[]; nextAfter: number | null }>('conversation.join', {
      conversationId: conversation.id,
      afterSeq: lastSeen,
    });
    expect(resumed.messages.map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11, 12]);
    expect(resumed.messages[0].body).toBe('tijdens 5');
    expect(resumed.nextAfter).toBeNull();
    // And it is live again.
    await agent.call('message.send', { conversationId: conversation.id, clientMessageId: 'r-after', body: 'weer terug' });
    expect(await back.next<Message>('message', (m) => m.seq === 13)).toMatchObject({ body: 'weer terug' });
  });

  it('refuses a message over the length limit, storing nothing', async () => {
    const small = await createTestApp({ env: { CHAT_MESSAGE_MAX_LENGTH: '50' } });
    try {
      const customer = await ChatClient.connect(small.url, await small.token('customer'));
      const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
      const agent = await ChatClient.connect(small.url, await small.token('agent'));
      await agent.call('conversation.take', { conversationId: conversation.id });
      await expect(customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'long', body: 'x'.repeat(51) })).rejects.toMatchObject({
        code: 'MESSAGE_TOO_LONG',
        message: 'A message holds at most 50 characters (this one has 51)',
      });
      await expect(customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'ok', body: 'x'.repeat(50) })).resolves.toMatchObject({ seq: 1 });
      const count = await withClient(small.database.url, (c) => c.query('SELECT count(*)::int AS n FROM chat_messages'));
      expect(count.rows).toEqual([{ n: 1 }]);
      customer.close();
      agent.close();
    } finally {
      await small.close();
    }
  });

  it('limits sends per sender, over all their sockets and REST together', async () => {
    const limited = await createTestApp({ env: { CHAT_RATE_LIMIT_BURST: '5', CHAT_RATE_LIMIT_PER_SECOND: '1' } });
    try {
      const customer = await ChatClient.connect(limited.url, await limited.token('customer'));
      const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => customer.call('message.send', { conversationId: conversation.id, clientMessageId: `b-${i}`, body: 'spam' })),
      );
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o).reason as { code: string; retryAfterSeconds?: number });
      // The customer may write before an agent takes it; five fit the burst, three are refused.
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
      expect(refused.map((r) => r.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      expect(refused[0].retryAfterSeconds).toBeGreaterThanOrEqual(1);
      // A second socket of the same customer shares the budget, and so does REST.
      const second = await ChatClient.connect(limited.url, await limited.token('customer'));
      await expect(second.call('message.send', { conversationId: conversation.id, clientMessageId: 'b-9', body: 'again' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      const rest = await request(limited.url)
        .post(`/conversations/${conversation.id}/messages`)
        .set('Authorization', `Bearer ${await limited.token('customer')}`)
        .send({ clientMessageId: 'b-10', body: 'over REST' })
        .expect(429);
      expect(rest.body).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(rest.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another customer is not held back by it.
      const other = await ChatClient.connect(limited.url, await limited.token('customer', 'customer-other'));
      const { conversation: theirs } = await other.call<{ conversation: Conversation }>('conversation.open');
      await expect(other.call('message.send', { conversationId: theirs.id, clientMessageId: 'o-1', body: 'hello' })).resolves.toMatchObject({ seq: 1 });
      customer.close();
      second.close();
      other.close();
    } finally {
      await limited.close();
    }
  });

  it('stops sending a conversation to the previous agent once it is reassigned', async () => {
    const { customer, agent: first, conversation } = await openAndTake();
    const second = await connect(await app.token('agent', `agent-${randomUUID()}`));
    await second.call('queue.list'); // makes the second agent known
    const secondId = (await rows<{ id: string }>('SELECT id FROM staff_members ORDER BY created_at DESC LIMIT 1'))[0].id;
    const admin = await connect(await app.token('admin', 'admin-reassign'));
    await admin.call('conversation.take', { conversationId: conversation.id });
    await first.next<Conversation>('conversation.assigned', (c) => c.id === conversation.id && c.assignedAgentId !== conversation.assignedAgentId);
    await expect(
      request(app.url).post(`/conversations/${conversation.id}/assign`).set('Authorization', `Bearer ${await app.token('admin', 'admin-reassign')}`).send({ agentId: secondId }),
    ).resolves.toMatchObject({ status: 200 });
    await second.call('conversation.join', { conversationId: conversation.id });
    await customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'after-reassign', body: 'alleen voor de nieuwe agent' });
    await second.next<Message>('message', (m) => m.body === 'alleen voor de nieuwe agent');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.stringify(first.received.message ?? [])).not.toContain('alleen voor de nieuwe agent');
    expect(JSON.stringify(admin.received.message ?? [])).not.toContain('alleen voor de nieuwe agent');
  });

  it('refuses a NUL character alone, without failing other senders in the same batch', async () => {
    const { customer, agent, conversation } = await openAndTake();
    const [bad, good] = await Promise.allSettled([
      customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'nul', body: 'hi\u0000' }),
      agent.call('message.send', { conversationId: conversation.id, clientMessageId: 'fine', body: 'hallo' }),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'VALIDATION_FAILED' } });
    expect(good).toMatchObject({ status: 'fulfilled', value: { seq: 1 } });
  });

  it('validates event payloads: ids must be UUIDs, unknown fields are refused', async () => {
    const customer = await connect(await app.token('customer'));
    await expect(customer.call('message.send', { conversationId: 'not-a-uuid', clientMessageId: 'x', body: 'hi' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(customer.call('conversation.join', { conversationId: randomUUID(), afterSeq: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(customer.call('conversation.join', { conversationId: randomUUID(), afterSeq: 1e12 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      customer.call('message.send', { conversationId: randomUUID(), clientMessageId: 'x', body: 'hi', admin: true }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(customer.call('message.send', { conversationId: randomUUID(), clientMessageId: 'has space', body: 'hi' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});
