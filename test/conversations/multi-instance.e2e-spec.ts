import { ChatClient } from '../support/chat-client';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

interface Conversation {
  id: string;
}
interface Message {
  conversationId: string;
  seq: number;
  body: string;
}

describe('several instances on one database (SOCKET_ADAPTER=postgres)', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  const env = { SOCKET_ADAPTER: 'postgres', CHAT_RATE_LIMIT_BURST: '1000', CHAT_RATE_LIMIT_PER_SECOND: '1000' };

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await createTestApp({ database, env });
    b = await createTestApp({ database, env });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });

  it('carries a message sent through instance A to a client connected to instance B', async () => {
    const customer = await ChatClient.connect(a.url, await a.token('customer', 'cust-multi'));
    const agent = await ChatClient.connect(b.url, await b.token('agent', 'agent-multi'));
    try {
      const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
      // The queue event crosses over too.
      await agent.next<Conversation>('queue.added', (c) => c.id === conversation.id);
      await agent.call('conversation.take', { conversationId: conversation.id });
      await customer.next<Conversation>('conversation.assigned', (c) => c.id === conversation.id);

      await customer.call('message.send', { conversationId: conversation.id, clientMessageId: 'x-1', body: 'via A' });
      expect(await agent.next<Message>('message', (m) => m.seq === 1)).toMatchObject({ body: 'via A', conversationId: conversation.id });
      await agent.call('message.send', { conversationId: conversation.id, clientMessageId: 'y-1', body: 'via B' });
      expect(await customer.next<Message>('message', (m) => m.seq === 2)).toMatchObject({ body: 'via B' });
    } finally {
      customer.close();
      agent.close();
    }
  });

  it('keeps sequence numbers gapless when both instances write into one conversation at once', async () => {
    const customer = await ChatClient.connect(a.url, await a.token('customer', 'cust-race'));
    const agent = await ChatClient.connect(b.url, await b.token('agent', 'agent-race'));
    try {
      const { conversation } = await customer.call<{ conversation: Conversation }>('conversation.open');
      await agent.call('conversation.take', { conversationId: conversation.id });
      const sends = Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? agent : customer).call<{ seq: number }>('message.send', { conversationId: conversation.id, clientMessageId: `r-${i}`, body: `${i}` }),
      );
      const seqs = (await Promise.all(sends)).map((ack) => ack.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const stored = await withClient(database.url, (c) =>
        c.query<{ seq: number }>('SELECT seq FROM chat_messages WHERE conversation_id = $1 ORDER BY seq', [conversation.id]),
      );
      expect(stored.rows.map((r) => r.seq)).toEqual(seqs);
      // Each side receives all 200, whichever instance stored them (across instances they may
      // arrive out of order: clients order by seq).
      const seqsAt = (client: ChatClient) =>
        new Set(((client.received.message ?? []) as Message[]).filter((m) => m.conversationId === conversation.id).map((m) => m.seq));
      await customer.until(() => seqsAt(customer).size === 200);
      await agent.until(() => seqsAt(agent).size === 200);
    } finally {
      customer.close();
      agent.close();
    }
  });
});
