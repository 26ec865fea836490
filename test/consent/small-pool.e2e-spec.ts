import request from 'supertest';
import { UploadTokensService } from '../../src/consent/upload-tokens.service';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * With as many simultaneous decisions as the pool has connections, nothing may
 * wait for a second connection while holding the first.
 */
describe('consent decisions with a small connection pool', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { DATABASE_POOL_SIZE: '2' } });
  });
  afterAll(() => app.close());

  it('answers, standing choices and token redemptions at once finish without waiting on the pool', async () => {
    const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
    const agent = await app.token('agent', 'agent-pool');
    const customers = await Promise.all([1, 2, 3, 4].map((i) => app.token('customer', `cust-pool-${i}`)));
    const asked: Array<{ token: string; conversationId: string; prompt: { requestId: string; textHash: string } }> = [];
    for (const token of customers) {
      const conversation = (await request(app.url).post('/conversations').set(auth(token)).expect(201)).body as { id: string };
      await request(app.url).post(`/conversations/${conversation.id}/assign`).set(auth(agent)).send({}).expect(200);
      const res = await request(app.url).post(`/conversations/${conversation.id}/consent-requests`).set(auth(agent)).send({ purposes: ['diagnostics'] }).expect(201);
      asked.push({ token, conversationId: conversation.id, prompt: (res.body as { prompts: Array<{ requestId: string; textHash: string }> }).prompts[0] });
    }
    const profileHash = (await request(app.url).get('/consent/purposes/customer_profile/text').expect(200)).body.textHash as string;
    const started = Date.now();
    const answers = await Promise.all(
      asked.map((a) =>
        request(app.url).post(`/consent/requests/${a.prompt.requestId}/answer`).set(auth(a.token)).send({ decision: 'grant', textHash: a.prompt.textHash }),
      ),
    );
    const standing = await Promise.all(
      customers.map((t) => request(app.url).put('/me/consents/customer_profile').set(auth(t)).send({ decision: 'grant', textHash: profileHash })),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(standing.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const tokens = app.app.get(UploadTokensService);
    const redeemed = await Promise.all(
      answers.map((r, i) => tokens.redeem((r.body as { uploadToken: { token: string } }).uploadToken.token, { conversationId: asked[i].conversationId, purpose: 'diagnostics' })),
    );
    expect(redeemed).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
