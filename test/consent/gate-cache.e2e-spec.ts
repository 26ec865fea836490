import request from 'supertest';
import { ConsentCacheService } from '../../src/consent/consent-cache.service';
import { ConsentGate } from '../../src/consent/consent.gate';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return Date.now() - started;
}

describe('the gate across instances: answers kept only while every change is heard', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await createTestApp({ database });
    b = await createTestApp({ database });
    await until(() => a.app.get(ConsentCacheService).active && b.app.get(ConsentCacheService).active);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  async function standing(app: TestApp, token: string, decision: 'grant' | 'withdraw') {
    const text = await request(app.url).get('/consent/purposes/customer_profile/text').expect(200);
    const res = await request(app.url)
      .put('/me/consents/customer_profile')
      .set('Authorization', `Bearer ${token}`)
      .send(decision === 'grant' ? { decision, textHash: text.body.textHash } : { decision })
      .expect(200);
    return res.body as { customerId: string };
  }

  it('a withdrawal on one instance reaches the other’s gate at commit', async () => {
    const token = await a.token('customer', 'cust-two-instances');
    const cacheB = b.app.get(ConsentCacheService);
    const heardBefore = cacheB.currentEpoch();
    const { customerId } = await standing(a, token, 'grant');
    // B drops what it kept when the grant's notification arrives: only an answer read after that stays kept.
    await until(() => cacheB.currentEpoch() > heardBefore);
    const gateA = a.app.get(ConsentGate);
    const gateB = b.app.get(ConsentGate);
    expect((await gateA.check(customerId, 'customer_profile', 'standing')).allowed).toBe(true); // now kept on A too
    const first = await gateB.check(customerId, 'customer_profile', 'standing');
    expect(first.allowed).toBe(true);
    // Kept: the same (frozen) answer comes back without a read.
    expect(await gateB.check(customerId, 'customer_profile', 'standing')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);

    await standing(a, token, 'withdraw');
    // On the instance that committed it: the very next check.
    expect((await gateA.check(customerId, 'customer_profile', 'standing')).allowed).toBe(false);
    // On the other: as soon as the notification arrives.
    const ms = await until(async () => !(await gateB.check(customerId, 'customer_profile', 'standing')).allowed, 2000);
    expect(ms).toBeLessThan(1000);
  });

  it('does not keep an answer read while a change arrived (epoch)', async () => {
    const token = await a.token('customer', 'cust-epoch');
    const { customerId } = await standing(a, token, 'grant');
    const cacheB = b.app.get(ConsentCacheService);
    const gateB = b.app.get(ConsentGate);
    const epoch = cacheB.currentEpoch();
    const stale = await gateB.read(customerId, 'customer_profile', null);
    cacheB.invalidate(customerId); // a change heard while that read was under way
    cacheB.set(`${customerId}|customer_profile|`, customerId, stale, epoch);
    expect(cacheB.get(`${customerId}|customer_profile|`)).toBeUndefined();
  });

  it('stops keeping answers when its listener is lost, and resumes once it is back', async () => {
    const token = await a.token('customer', 'cust-listener-lost');
    const { customerId } = await standing(a, token, 'grant');
    const cacheB = b.app.get(ConsentCacheService);
    const gateB = b.app.get(ConsentGate);
    await gateB.check(customerId, 'customer_profile', 'standing');

    await withClient(database.url, (c) =>
      c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'support-desk-consent-listener' AND datname = current_database()`),
    );
    await until(() => !cacheB.active);
    // Meanwhile every answer is read from the ledger: fresh objects, and a withdrawal counts at once.
    const one = await gateB.check(customerId, 'customer_profile', 'standing');
    expect(await gateB.check(customerId, 'customer_profile', 'standing')).not.toBe(one);
    await withClient(database.url, (c) =>
      c.query(
        `INSERT INTO consent_events (type, customer_id, purpose, scope, actor_kind, actor_id, channel, occurred_at)
         VALUES ('withdrawn', $1, 'customer_profile', 'standing', 'customer', $1, 'web', now())`,
        [customerId],
      ),
    );
    expect((await gateB.check(customerId, 'customer_profile', 'standing')).allowed).toBe(false);

    await until(() => cacheB.active, 5000);
    await standing(a, token, 'grant');
    await until(async () => (await gateB.check(customerId, 'customer_profile', 'standing')).allowed, 2000);
  });
});
