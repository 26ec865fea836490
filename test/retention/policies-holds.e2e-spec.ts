import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { FakeClock } from '../support/fake-clock';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait-until';

function multipart(content: Buffer): { body: Buffer; type: string } {
  const boundary = `----sd${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\nContent-Type: text/plain\r\n\r\n`);
  return { body: Buffer.concat([head, content, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

describe('retention policies and legal holds (R10.1, R10.3)', () => {
  let app: TestApp;
  const clock = new FakeClock();
  let officer: string;
  let agent: string;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await withClient(app.database.url, (c) => c.query<T>(text, params))).rows;

  beforeAll(async () => {
    app = await createTestApp({ clock });
    officer = await app.token('privacy_officer', 'officer-retention');
    agent = await app.token('agent', 'agent-retention');
  });
  afterAll(() => app.close());

  /** A chat with one attachment; closed when asked. */
  async function attachment(subject: string, close: boolean): Promise<{ artifactId: string; conversationId: string; customerId: string }> {
    const customer = await app.token('customer', subject);
    const conversation = (await request(app.url).post('/conversations').set(auth(customer)).expect(201)).body as { id: string; customerId: string };
    const { body, type } = multipart(Buffer.from(`notes of ${subject}\n`));
    const artifact = (await request(app.url).post(`/conversations/${conversation.id}/attachments`).set(auth(customer)).set('content-type', type).send(body).expect(201)).body as {
      id: string;
    };
    if (close) {
      await request(app.url).post(`/conversations/${conversation.id}/messages`).set(auth(customer)).send({ clientMessageId: 'm-1', body: 'Mijn vraag' }).expect(201);
      await request(app.url).post(`/conversations/${conversation.id}/close`).set(auth(customer)).expect(200);
      // Its transcripts are written after the close: wait for them, so counts are stable.
      await waitUntil(async () => (await sql(`SELECT 1 FROM artifacts WHERE conversation_id = $1 AND kind = 'chat_transcript' AND state = 'stored'`, [conversation.id])).length === 2, 'transcripts written');
    }
    return { artifactId: artifact.id, conversationId: conversation.id, customerId: conversation.customerId };
  }

  describe('policies', () => {
    it('lists each tag with its duration, clock and what it covers', async () => {
      const res = await request(app.url).get('/retention/policies').set(auth(officer)).expect(200);
      const byTag = Object.fromEntries((res.body as Array<{ tag: string }>).map((p) => [p.tag, p]));
      expect(byTag.diagnostics).toMatchObject({ duration: 'P30D', starts: 'captured', kinds: ['diagnostics_bundle'], purposes: ['diagnostics'] });
      expect(byTag.support_chat).toMatchObject({ duration: 'P12M', starts: 'conversation_closed', kinds: ['attachment', 'chat_transcript', 'chat_message'] });
      await request(app.url).get('/retention/policies').set(auth(agent)).expect(403);
    });

    it('previews a change, refuses one that differs from its preview, then recomputes retain_until and audits it', async () => {
      const open = await attachment('cust-policy-open', false);
      const closed = await attachment('cust-policy-closed', true);
      clock.advance(200 * 86_400_000); // ~6.5 months on
      const preview = await request(app.url).post('/retention/policies/support_chat/preview').set(auth(officer)).send({ duration: 'P6M' }).expect(200);
      expect(preview.body).toMatchObject({ current: { duration: 'P12M' }, proposed: { duration: 'P6M', starts: 'conversation_closed' } });
      const countOf = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM artifacts WHERE retention_tag = 'support_chat' AND state IN ('pending', 'stored')`))[0].n;
      expect(preview.body.affected).toBe(await countOf());
      expect(preview.body.sooner).toBe(preview.body.affected);
      // Six months have passed for everything captured or closed at the start: all of it would be due at once.
      expect(preview.body.dueAtOnce).toBeGreaterThanOrEqual(2);
      // The chat's message bodies would go at once too (they follow the tag from the close); no call records under this tag.
      const erasable = async () =>
        (await sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM conversations c WHERE c.status = 'closed' AND c.bodies_erased_at IS NULL AND c.closed_at + interval 'P6M' <= $1
              AND EXISTS (SELECT 1 FROM chat_messages m WHERE m.conversation_id = c.id AND m.body <> '')`,
          [clock.now()],
        ))[0].n;
      expect(preview.body.chatsErasedAtOnce).toBe(await erasable());
      expect(preview.body.chatsErasedAtOnce).toBeGreaterThanOrEqual(1);
      expect(preview.body.callsErasedAtOnce).toBe(0);
      const before = await sql(`SELECT retain_until FROM artifacts WHERE id = ANY($1) ORDER BY id`, [[open.artifactId, closed.artifactId]]);

      await request(app.url).put('/retention/policies/support_chat').set(auth(agent)).send({ duration: 'P6M', expectAffected: preview.body.affected }).expect(403);
      expect((await request(app.url).put('/retention/policies/support_chat').set(auth(officer)).send({ duration: 'P6M', expectAffected: 0 }).expect(409)).body.code).toBe('CONFLICT');
      expect(await sql(`SELECT retain_until FROM artifacts WHERE id = ANY($1) ORDER BY id`, [[open.artifactId, closed.artifactId]])).toEqual(before);

      const applied = await request(app.url).put('/retention/policies/support_chat').set(auth(officer)).send({ duration: 'P6M', expectAffected: preview.body.affected }).expect(200);
      expect(applied.body).toMatchObject({ policy: { duration: 'P6M' }, recomputed: preview.body.affected });
      const exact = await sql<{ id: string; exact: boolean }>(
        `SELECT a.id, a.retain_until = (CASE WHEN c.closed_at IS NOT NULL THEN c.closed_at ELSE a.captured_at END + interval 'P6M') AS exact
           FROM artifacts a JOIN conversations c ON c.id = a.conversation_id WHERE a.id = ANY($1)`,
        [[open.artifactId, closed.artifactId]],
      );
      expect(exact.every((r) => r.exact)).toBe(true);
      const [audit] = await sql(`SELECT action, outcome, details FROM audit_events WHERE target_type = 'retention_policy' AND target_id = 'support_chat'`);
      expect(audit).toMatchObject({ action: 'retention.policy.change', outcome: 'allowed', details: { from: { duration: 'P12M' }, to: { duration: 'P6M' } } });
      // What customers are told changes with it: the support texts say the new period, in new versions.
      const textOf = async (locale: string) =>
        (await request(app.url).get(`/consent/purposes/support/text?locale=${locale}`).expect(200)).body as { version: number; text: string; textHash: string };
      const [nlBefore, enBefore] = [await textOf('nl-NL'), await textOf('en')];
      expect(applied.body.texts).toEqual(
        expect.arrayContaining([
          { purpose: 'support', locale: 'nl-NL', version: nlBefore.version, replaces: { version: nlBefore.version - 1, source: 'shipped' } },
          { purpose: 'support', locale: 'en', version: enBefore.version, replaces: { version: enBefore.version - 1, source: 'shipped' } },
        ]),
      );
      expect(nlBefore.text).toContain('We bewaren chats en bijlagen 6 maanden nadat uw vraag is afgesloten.');
      expect(enBefore.text).toContain('We keep chats and files for 6 months after your question is closed.');
      expect((audit as { details: { texts: unknown[] } }).details.texts).toHaveLength(2);
      // Other purposes' texts are left as they were.
      expect(applied.body.texts.every((t: { purpose: string }) => t.purpose === 'support')).toBe(true);

      // Back to the default; a capture between preview and change does not make the preview stale when its asOf is named.
      const back = await request(app.url).post('/retention/policies/support_chat/preview').set(auth(officer)).send({ duration: 'P12M' }).expect(200);
      clock.advance(1000);
      await attachment('cust-policy-meanwhile', false);
      await request(app.url).put('/retention/policies/support_chat').set(auth(officer)).send({ duration: 'P12M', expectAffected: back.body.affected }).expect(409);
      const reverted = await request(app.url)
        .put('/retention/policies/support_chat')
        .set(auth(officer))
        .send({ duration: 'P12M', expectAffected: back.body.affected, previewAsOf: back.body.asOf })
        .expect(200);
      // The one captured meanwhile (under P6M) follows the change too.
      expect(reverted.body.recomputed).toBe(back.body.affected + 1);
      // Back to twelve months: a new version says so again (not the old one left standing behind the six-month text).
      const nlAfter = await textOf('nl-NL');
      expect(nlAfter.version).toBe(nlBefore.version + 1);
      expect(nlAfter.text).toContain('We bewaren chats en bijlagen 12 maanden nadat uw vraag is afgesloten.');
    });

    it('previews the call records a shorter call_metadata would erase at once', async () => {
      const customer = await app.token('customer', 'cust-policy-call');
      const { customerId } = (await request(app.url).post('/conversations').set(auth(customer)).expect(201)).body as { customerId: string };
      const closedAt = new Date(clock.now().getTime() - 600 * 86_400_000); // ~20 months ago
      await sql(
        `WITH v AS (INSERT INTO conversations (channel, status, customer_id, opened_at, closed_at) VALUES ('call', 'closed', $1, $2, $2) RETURNING id)
         INSERT INTO calls (conversation_id, provider_call_id, direction, caller_number_masked, started_at, ended_at, duration_seconds)
         SELECT v.id, 'pbx-preview-1', 'inbound', '+31*****0000', $2, $2, 30 FROM v`,
        [customerId, closedAt],
      );
      const shorter = await request(app.url).post('/retention/policies/call_metadata/preview').set(auth(officer)).send({ duration: 'P12M' }).expect(200);
      expect(shorter.body).toMatchObject({ chatsErasedAtOnce: 0, callsErasedAtOnce: 1 });
      const longer = await request(app.url).post('/retention/policies/call_metadata/preview').set(auth(officer)).send({ duration: 'P36M' }).expect(200);
      expect(longer.body.callsErasedAtOnce).toBe(0);
    });

    it('a purpose moved to another tag gets texts that say that tag’s period', async () => {
      const admin = await app.token('admin', 'admin-retention');
      const textOf = async () => ((await request(app.url).get('/consent/purposes/chat_recording/text?locale=nl-NL').expect(200)).body as { text: string }).text;
      expect(await textOf()).toContain('We bewaren haar 6 maanden.');
      await request(app.url).patch('/consent/purposes/chat_recording').set(auth(admin)).send({ retentionTag: 'call_recording' }).expect(200);
      expect(await textOf()).toContain('We bewaren haar 90 dagen.');
      await request(app.url).patch('/consent/purposes/chat_recording').set(auth(admin)).send({ retentionTag: 'quality_review' }).expect(200);
      expect(await textOf()).toContain('We bewaren haar 6 maanden.');
    });

    it('refuses a duration that is not ISO 8601 whole units, or zero, and a capture clock for message bodies and call records', async () => {
      for (const duration of ['30 days', 'PT1H', 'P', 'P0D', '-P1D']) {
        const res = await request(app.url).post('/retention/policies/diagnostics/preview').set(auth(officer)).send({ duration });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
      const clock = await request(app.url).post('/retention/policies/support_chat/preview').set(auth(officer)).send({ starts: 'captured' }).expect(400);
      expect(clock.body).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('close') });
      expect((await request(app.url).post('/retention/policies/no_such_tag/preview').set(auth(officer)).send({ duration: 'P1D' }).expect(404)).body.code).toBe('RETENTION_POLICY_NOT_FOUND');
    });
  });

  describe('legal holds', () => {
    it('are placed on a subject, a conversation or an item, show what they cover, and are released, all audited', async () => {
      const a = await attachment('cust-hold-a', true);
      const subject = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'subject', targetId: a.customerId, reason: 'Dispute 2026-114' }).expect(201);
      expect(subject.body).toMatchObject({ scope: 'subject', targetId: a.customerId, active: true, releasedAt: null });
      const covered = await request(app.url).get(`/legal-holds/${subject.body.id}`).set(auth(officer)).expect(200);
      expect(covered.body.totals).toEqual([
        { kind: 'attachment', purpose: 'support', items: 1, bytes: expect.any(Number) as number },
        { kind: 'chat_transcript', purpose: 'support', items: 2, bytes: expect.any(Number) as number },
      ]);
      expect(covered.body.items.map((i: { id: string }) => i.id)).toContain(a.artifactId);

      const item = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: a.artifactId, reason: 'Evidence for case 7' }).expect(201);
      await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'conversation', targetId: a.conversationId, reason: 'Complaint review' }).expect(201);
      expect((await request(app.url).get('/legal-holds?active=true').set(auth(officer)).expect(200)).body.length).toBeGreaterThanOrEqual(3);

      const released = await request(app.url).post(`/legal-holds/${item.body.id}/release`).set(auth(officer)).send({ reason: 'Case 7 closed' }).expect(200);
      expect(released.body).toMatchObject({ active: false, releaseReason: 'Case 7 closed' });
      await request(app.url).post(`/legal-holds/${item.body.id}/release`).set(auth(officer)).send({ reason: 'again' }).expect(409);
      const trail = await sql(`SELECT action, reason FROM audit_events WHERE target_id = $1 ORDER BY seq`, [item.body.id]);
      expect(trail).toEqual([
        { action: 'legal_hold.place', reason: 'Evidence for case 7' },
        { action: 'legal_hold.release', reason: 'Case 7 closed' },
      ]);
    });

    it('lapse at their end date, on the injected clock', async () => {
      const a = await attachment('cust-hold-end', false);
      const endsAt = new Date(clock.now().getTime() + 86_400_000).toISOString();
      const hold = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: a.artifactId, reason: 'Until tomorrow', endsAt }).expect(201);
      expect(hold.body.active).toBe(true);
      clock.advance(86_400_001);
      expect((await request(app.url).get(`/legal-holds/${hold.body.id}`).set(auth(officer)).expect(200)).body.hold.active).toBe(false);
      expect((await request(app.url).get('/legal-holds?active=true').set(auth(officer)).expect(200)).body.map((h: { id: string }) => h.id)).not.toContain(hold.body.id);
    });

    it('only privacy officers place and release them; bad input gets a clear error', async () => {
      const a = await attachment('cust-hold-bad', false);
      await request(app.url).post('/legal-holds').set(auth(agent)).send({ scope: 'artifact', targetId: a.artifactId, reason: 'no' }).expect(403);
      const admin = await app.token('admin', 'admin-holds');
      await request(app.url).post('/legal-holds').set(auth(admin)).send({ scope: 'artifact', targetId: a.artifactId, reason: 'not mine' }).expect(403);
      await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: a.customerId, reason: 'wrong kind of id' }).expect(404);
      await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'planet', targetId: a.artifactId, reason: 'x' }).expect(400);
      await request(app.url)
        .post('/legal-holds')
        .set(auth(officer))
        .send({ scope: 'artifact', targetId: a.artifactId, reason: 'past', endsAt: new Date(clock.now().getTime() - 1000).toISOString() })
        .expect(400);
    });
  });
});
