import { EventEmitter2 } from '@nestjs/event-emitter';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { CONSENT_EVENTS, type ConsentWithdrawnEvent } from '../../src/consent/consent.events';
import { ConsentExpiryJob } from '../../src/consent/consent-expiry.job';
import { ConsentGate } from '../../src/consent/consent.gate';
import type { ConsentPromptView } from '../../src/consent/consent.views';
import { UploadTokensService } from '../../src/consent/upload-tokens.service';
import { ChatClient } from '../support/chat-client';
import { FakeClock } from '../support/fake-clock';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

interface Requested {
  conversationId: string;
  prompts: ConsentPromptView[];
}

describe('consent: purposes, texts, requests in a chat, the ledger and the gate', () => {
  let app: TestApp;
  const clock = new FakeClock();
  let agentToken: string;
  const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await withClient(app.database.url, (c) => c.query<T>(text, params))).rows;
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    app = await createTestApp({ clock, env: { CONSENT_REQUEST_TTL_SECONDS: '120' } });
    agentToken = await app.token('agent', 'agent-consent');
  });
  afterAll(() => app.close());

  /** A customer's open chat, taken by the agent; both sockets connected and in its room. */
  async function chat(subject: string, options: { locale?: string; headers?: Record<string, string>; tokenLocale?: string } = {}) {
    const customerToken = await app.token('customer', subject, options.tokenLocale ? { locale: options.tokenLocale } : {});
    const customer = await ChatClient.connect(app.url, customerToken, { headers: options.headers, locale: options.locale });
    const agent = await ChatClient.connect(app.url, agentToken);
    const { conversation } = await customer.call<{ conversation: { id: string; customerId: string } }>('conversation.open');
    await agent.call('conversation.take', { conversationId: conversation.id });
    return { customer, agent, customerToken, conversationId: conversation.id, customerId: conversation.customerId, close: () => (customer.close(), agent.close()) };
  }

  async function ask(agent: ChatClient, customer: ChatClient, conversationId: string, purposes: string[]) {
    const asked = await agent.call<{ requests: Array<{ id: string; status: string }> }>('consent.request', { conversationId, purposes });
    const shown = await customer.next<Requested>('consent.requested', (e) => e.prompts.some((p) => p.requestId === asked.requests[0].id));
    return { asked, prompts: shown.prompts };
  }

  describe('purposes and texts', () => {
    it('seeds the catalogue with each purpose’s legal basis and retention tag', async () => {
      const res = await request(app.url).get('/consent/purposes').expect(200);
      const byCode = Object.fromEntries((res.body as Array<{ code: string }>).map((p) => [p.code, p]));
      expect(Object.keys(byCode).sort()).toEqual(['call_recording', 'chat_recording', 'customer_profile', 'diagnostics', 'support', 'transcription']);
      expect(byCode.support).toMatchObject({ legalBasis: 'contract', needsConsent: false });
      expect(byCode.diagnostics).toMatchObject({
        legalBasis: 'consent',
        retentionTag: 'diagnostics',
        categories: ['device_state', 'application_state', 'installed_software', 'hardware_configuration', 'error_reports'],
      });
    });

    it('lets an admin add and change purposes, never their legal basis; others may not', async () => {
      const admin = await app.token('admin', 'admin-purposes');
      const body = { code: 'screen_sharing', legalBasis: 'consent', retentionTag: 'diagnostics', categories: ['screen_image'], description: 'Seeing the customer’s screen' };
      await request(app.url).post('/consent/purposes').set(auth(agentToken)).send(body).expect(403);
      await request(app.url).post('/consent/purposes').set(auth(admin)).send(body).expect(201);
      await request(app.url).post('/consent/purposes').set(auth(admin)).send(body).expect(409, { code: 'PURPOSE_EXISTS', message: 'The purpose "screen_sharing" exists already' });
      const changed = await request(app.url).patch('/consent/purposes/screen_sharing').set(auth(admin)).send({ description: 'Seeing the screen while helping' }).expect(200);
      expect(changed.body).toMatchObject({ code: 'screen_sharing', legalBasis: 'consent', description: 'Seeing the screen while helping' });
      const refused = await request(app.url).patch('/consent/purposes/screen_sharing').set(auth(admin)).send({ legalBasis: 'contract' }).expect(400);
      expect(refused.body.code).toBe('VALIDATION_FAILED');
    });

    it('publishes the shipped texts at start-up, each with the SHA-256 of its exact text', async () => {
      const nl = await request(app.url).get('/consent/purposes/diagnostics/text').expect(200);
      expect(nl.body).toMatchObject({ locale: 'nl-NL', version: 1, source: 'shipped', title: 'Mogen we gegevens van uw computer verzamelen?' });
      expect(nl.body.textHash).toBe(sha256(nl.body.text));
      expect(nl.body.text).toContain('privacy@snelstart.nl');
      expect(nl.body.text).toContain('www.autoriteitpersoonsgegevens.nl');
      const en = await request(app.url).get('/consent/purposes/diagnostics/text').set('Accept-Language', 'en-GB,en;q=0.8').expect(200);
      expect(en.body).toMatchObject({ locale: 'en', title: 'May we collect data from your computer?' });
      expect(en.body.readability).toMatchObject({ metric: 'flesch-reading-ease' });
      expect(en.body.readability.score).toBeGreaterThanOrEqual(60);
    });

    it('lets a version published for a later date take over only from that date (R8.1)', async () => {
      const admin = await app.token('admin', 'admin-effective');
      const effectiveFrom = new Date(clock.now().getTime() + 86_400_000);
      const published = await request(app.url)
        .post('/consent/purposes/customer_profile/texts')
        .set(auth(admin))
        .send({
          locale: 'en',
          title: 'May we get to know you?',
          body: 'We would like to learn how to help you best. We use:\n{categories}\nWe keep this for 24 months. If you say no, we will still help you.\nYou can withdraw at any time.\nQuestions? Write to {privacyContact}.\nYou can complain to {authority}.',
          categories: { contact_history: 'What you ask us about', skills: 'How well you know our program', communication_preferences: 'How you like to be helped' },
          effectiveFrom: effectiveFrom.toISOString(),
        })
        .expect(201);
      expect(published.body).toMatchObject({ version: 2, effectiveFrom: effectiveFrom.toISOString() });
      const before = await request(app.url).get('/consent/purposes/customer_profile/text?locale=en').expect(200);
      expect(before.body.version).toBe(1);
      clock.advance(86_400_000);
      const after = await request(app.url).get('/consent/purposes/customer_profile/text?locale=en').expect(200);
      expect(after.body).toMatchObject({ version: 2, textHash: published.body.textHash });
      const versions = await request(app.url).get('/consent/purposes/customer_profile/texts').set(auth(agentToken)).expect(200);
      expect(versions.body.map((v: { locale: string; version: number }) => `${v.locale}:${v.version}`)).toEqual(['en:2', 'en:1', 'nl-NL:1']);
    });

    it('refuses to publish a convoluted text and stores nothing', async () => {
      const admin = await app.token('admin', 'admin-texts');
      const before = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM consent_text_versions WHERE purpose = 'chat_recording'`);
      const res = await request(app.url)
        .post('/consent/purposes/chat_recording/texts')
        .set(auth(admin))
        .send({
          locale: 'nl-NL',
          title: 'Toestemming',
          body:
            'Ingevolge de toepasselijke bepalingen van de Algemene Verordening Gegevensbescherming verleent betrokkene hierbij ondubbelzinnig toestemming ' +
            'voor de geautomatiseerde registratie en kwaliteitsbeoordeling van communicatiegegevens, waaronder begrepen doch niet beperkt tot {categories}. ' +
            'Contact: {privacyContact}. Klachten: {authority}.',
          categories: { chat_messages: 'chatberichten' },
        })
        .expect(422);
      expect(res.body.code).toBe('TEXT_NOT_READABLE');
      expect(res.body.details.join(' ')).toMatch(/reading ease .* is below 60/);
      expect(res.body.details.join(' ')).toMatch(/a sentence has \d+ words/);
      expect(await sql(`SELECT count(*)::int AS n FROM consent_text_versions WHERE purpose = 'chat_recording'`)).toEqual(before);
    });
  });

  describe('asking in a chat', () => {
    it('shows a Dutch-speaking customer with no locale set the Dutch text, with its categories and a deadline in Dutch', async () => {
      const c = await chat('cust-nl', { headers: { 'accept-language': 'nl-NL,nl;q=0.9,en;q=0.5' } });
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['diagnostics']);
        expect(prompts).toHaveLength(1);
        const prompt = prompts[0];
        expect(prompt).toMatchObject({ purpose: 'diagnostics', locale: 'nl-NL', formatLocale: 'nl-NL', version: 1, conversationId: c.conversationId });
        expect(prompt.textHash).toBe(sha256(prompt.text));
        expect(prompt.categories.map((x) => x.code)).toEqual(['device_state', 'application_state', 'installed_software', 'hardware_configuration', 'error_reports']);
        for (const category of prompt.categories) expect(prompt.text).toContain(category.label);
        expect(prompt.expiresAtText).toMatch(/^\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december) \d{4} om \d{2}:\d{2}$/);
        expect(prompt.answerWithinText).toBe('2 minuten');
        const [customer] = await sql<{ locale: string | null; client_locale: string }>(`SELECT locale, client_locale FROM customers WHERE id = $1`, [c.customerId]);
        expect(customer).toEqual({ locale: null, client_locale: 'nl-NL,nl;q=0.9,en;q=0.5' });
      } finally {
        c.close();
      }
    });

    it('falls back to Dutch when nothing is known (R2.2), and follows the profile once set (R2.1)', async () => {
      const c = await chat('cust-unknown');
      try {
        const first = await ask(c.agent, c.customer, c.conversationId, ['chat_recording']);
        expect(first.prompts[0]).toMatchObject({ locale: 'nl-NL', formatLocale: 'nl-NL' });
        await request(app.url).patch('/me/profile').set(auth(c.customerToken)).send({ locale: 'en-GB' }).expect(200);
        const second = await ask(c.agent, c.customer, c.conversationId, ['call_recording']);
        expect(second.prompts[0]).toMatchObject({ locale: 'en', formatLocale: 'en-GB', title: 'May we record this call?' });
        expect(second.prompts[0].expiresAtText).toMatch(/^\d{1,2} [A-Z][a-z]+ \d{4} at \d{2}:\d{2}$/);
      } finally {
        c.close();
      }
    });

    it('records a grant with the hash of the text shown, tells the agent live, and opens the gate', async () => {
      const c = await chat('cust-grant', { locale: 'en' });
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['diagnostics', 'chat_recording']);
        expect(prompts.map((p) => p.purpose).sort()).toEqual(['chat_recording', 'diagnostics']);
        const diagnostics = prompts.find((p) => p.purpose === 'diagnostics')!;
        const gate = app.app.get(ConsentGate);
        await expect(gate.require(c.customerId, 'diagnostics', { conversationId: c.conversationId })).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });

        const answer = await c.customer.call<{ ledgerEvent: { id: string; type: string; textHash: string }; uploadToken: { token: string; conversationId: string } }>(
          'consent.answer',
          { requestId: diagnostics.requestId, decision: 'grant', textHash: diagnostics.textHash },
        );
        expect(answer.ledgerEvent).toMatchObject({ type: 'granted', textHash: diagnostics.textHash });
        expect(answer.uploadToken).toMatchObject({ conversationId: c.conversationId, purpose: 'diagnostics' });
        const seen = await c.agent.next<{ outcome: string; requestId: string }>('consent.answered', (e) => e.requestId === diagnostics.requestId);
        expect(seen).toMatchObject({ outcome: 'granted', purpose: 'diagnostics', conversationId: c.conversationId });
        expect(seen).not.toHaveProperty('evidence');
        const pushed = await c.customer.next<{ token: string }>('diagnostics.upload-token');
        expect(pushed.token).toBe(answer.uploadToken.token);
        expect(c.agent.received['diagnostics.upload-token']).toBeUndefined();

        const [row] = await sql(`SELECT * FROM consent_events WHERE id = $1`, [answer.ledgerEvent.id]);
        expect(row).toMatchObject({
          type: 'granted',
          customer_id: c.customerId,
          purpose: 'diagnostics',
          scope: 'conversation',
          conversation_id: c.conversationId,
          request_id: diagnostics.requestId,
          actor_kind: 'customer',
          actor_id: c.customerId,
          channel: 'chat',
          locale: 'en',
          text_version_id: diagnostics.textVersionId,
          text_sha256: diagnostics.textHash,
        });
        expect((row.evidence as { via: string }).via).toBe('socket');
        // The decision is in the audit trail too (R5.1).
        expect(await sql(`SELECT action, actor_kind, actor_id, purpose FROM audit_events WHERE target_id = $1`, [answer.ledgerEvent.id])).toEqual([
          { action: 'consent.granted', actor_kind: 'customer', actor_id: c.customerId, purpose: 'diagnostics' },
        ]);
        const basis = await gate.require(c.customerId, 'diagnostics', { conversationId: c.conversationId });
        expect(basis).toMatchObject({ legalBasis: 'consent', purpose: 'diagnostics', retentionTag: 'diagnostics', event: { id: answer.ledgerEvent.id } });
        // Granted in this conversation only: not standing, not elsewhere.
        await expect(gate.require(c.customerId, 'diagnostics', 'standing')).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });
        // The other purpose was asked but not answered: still no consent.
        await expect(gate.require(c.customerId, 'chat_recording', { conversationId: c.conversationId })).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });
        // Support rests on the contract: no event needed.
        expect(await gate.require(c.customerId, 'support', { conversationId: c.conversationId })).toMatchObject({ legalBasis: 'contract', event: null });
      } finally {
        c.close();
      }
    });

    it('records a denial, and the agent carries on without it', async () => {
      const c = await chat('cust-deny');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['diagnostics']);
        const res = await request(app.url)
          .post(`/consent/requests/${prompts[0].requestId}/answer`)
          .set(auth(c.customerToken))
          .set('User-Agent', 'SupportApp/1.0')
          .send({ decision: 'deny', textHash: prompts[0].textHash })
          .expect(200);
        expect(res.body).toMatchObject({ ledgerEvent: { type: 'denied', channel: 'chat' }, request: { status: 'denied' }, uploadToken: null });
        expect(res.body.ledgerEvent.evidence).toEqual({ via: 'rest', userAgentSha256: sha256('SupportApp/1.0') });
        await c.agent.next('consent.answered', (e: { outcome: string }) => e.outcome === 'denied');
        await expect(app.app.get(ConsentGate).require(c.customerId, 'diagnostics', { conversationId: c.conversationId })).rejects.toMatchObject({
          code: 'CONSENT_REQUIRED',
          message: expect.stringContaining('"diagnostics"'),
        });
        await c.agent.call('message.send', { conversationId: c.conversationId, clientMessageId: 'after-deny', body: 'Prima, we gaan zonder verder.' });
        await request(app.url).post(`/consent/requests/${prompts[0].requestId}/answer`).set(auth(c.customerToken)).send({ decision: 'grant', textHash: prompts[0].textHash }).expect(409);
      } finally {
        c.close();
      }
    });

    it('lets nobody but the customer answer (R1.1): agents and officers get 403 and nothing is recorded', async () => {
      const c = await chat('cust-r11');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['call_recording']);
        const before = await sql(`SELECT count(*)::int AS n FROM consent_events`);
        const body = { decision: 'grant', textHash: prompts[0].textHash };
        const byAgent = await request(app.url).post(`/consent/requests/${prompts[0].requestId}/answer`).set(auth(agentToken)).send(body).expect(403);
        expect(byAgent.body.code).toBe('FORBIDDEN');
        const officer = await app.token('privacy_officer', 'officer-r11');
        await request(app.url).post(`/consent/requests/${prompts[0].requestId}/answer`).set(auth(officer)).send(body).expect(403);
        await expect(c.agent.call('consent.answer', { requestId: prompts[0].requestId, ...body })).rejects.toMatchObject({ code: 'FORBIDDEN' });
        // Another customer cannot see it either.
        const other = await app.token('customer', 'cust-other');
        await request(app.url).post(`/consent/requests/${prompts[0].requestId}/answer`).set(auth(other)).send(body).expect(404);
        expect(await sql(`SELECT count(*)::int AS n FROM consent_events`)).toEqual(before);
        expect(await sql(`SELECT status FROM consent_requests WHERE id = $1`, [prompts[0].requestId])).toEqual([{ status: 'pending' }]);
      } finally {
        c.close();
      }
    });

    it('refuses an answer naming another text’s hash (409) and records nothing', async () => {
      const c = await chat('cust-stale');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['transcription']);
        const before = await sql(`SELECT count(*)::int AS n FROM consent_events WHERE request_id = $1`, [prompts[0].requestId]);
        await expect(c.customer.call('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: sha256('another text') })).rejects.toMatchObject({
          code: 'STALE_CONSENT_TEXT',
        });
        expect(await sql(`SELECT count(*)::int AS n FROM consent_events WHERE request_id = $1`, [prompts[0].requestId])).toEqual(before);
        expect(await sql(`SELECT status FROM consent_requests WHERE id = $1`, [prompts[0].requestId])).toEqual([{ status: 'pending' }]);
      } finally {
        c.close();
      }
    });

    it('treats silence as no consent: the request expires, the agent is told, a late answer is refused', async () => {
      const c = await chat('cust-silent');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['diagnostics']);
        const late = await ask(c.agent, c.customer, c.conversationId, ['chat_recording']);
        clock.advance(121_000);
        await app.app.get(ConsentExpiryJob).run();
        const expired = await c.agent.next<{ outcome: string; requestId: string }>('consent.expired', (e) => e.requestId === prompts[0].requestId);
        expect(expired).toMatchObject({ outcome: 'expired', purpose: 'diagnostics' });
        const rows = await sql(`SELECT type, actor_kind, text_sha256 FROM consent_events WHERE request_id = $1 ORDER BY position`, [prompts[0].requestId]);
        expect(rows).toEqual([
          { type: 'requested', actor_kind: 'staff', text_sha256: prompts[0].textHash },
          { type: 'expired', actor_kind: 'system', text_sha256: null },
        ]);
        await expect(app.app.get(ConsentGate).require(c.customerId, 'diagnostics', { conversationId: c.conversationId })).rejects.toMatchObject({
          code: 'CONSENT_REQUIRED',
        });
        await expect(c.customer.call('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: prompts[0].textHash })).rejects.toMatchObject({
          code: 'CONSENT_REQUEST_EXPIRED',
        });
        expect(await sql(`SELECT status FROM consent_requests WHERE id = $1`, [late.prompts[0].requestId])).toEqual([{ status: 'expired' }]);
      } finally {
        c.close();
      }
    });

    it('finds a request expired when answered after its deadline, before any sweep ran', async () => {
      const c = await chat('cust-slow');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['customer_profile']);
        clock.advance(121_000);
        await expect(c.customer.call('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: prompts[0].textHash })).rejects.toMatchObject({
          code: 'CONSENT_REQUEST_EXPIRED',
        });
        expect(await sql(`SELECT type FROM consent_events WHERE request_id = $1 ORDER BY position`, [prompts[0].requestId])).toEqual([
          { type: 'requested' },
          { type: 'expired' },
        ]);
      } finally {
        c.close();
      }
    });

    it('flips the gate at the very next check after a withdrawal, and announces it after commit', async () => {
      const c = await chat('cust-withdraw');
      const withdrawn: ConsentWithdrawnEvent[] = [];
      const seenByOthers: Array<Promise<unknown[]>> = [];
      const events = app.app.get(EventEmitter2);
      // Asked from another connection the moment the event fires: the row must already be committed.
      const listener = (e: ConsentWithdrawnEvent) => {
        withdrawn.push(e);
        seenByOthers.push(sql(`SELECT type FROM consent_events WHERE id = $1`, [e.event.id]));
      };
      events.on(CONSENT_EVENTS.withdrawn, listener);
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['chat_recording']);
        await c.customer.call('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: prompts[0].textHash });
        const gate = app.app.get(ConsentGate);
        await gate.require(c.customerId, 'chat_recording', { conversationId: c.conversationId });
        const { ledgerEvent: event } = await c.customer.call<{ ledgerEvent: { id: string; type: string } }>('consent.withdraw', { conversationId: c.conversationId, purpose: 'chat_recording' });
        expect(event.type).toBe('withdrawn');
        await expect(gate.require(c.customerId, 'chat_recording', { conversationId: c.conversationId })).rejects.toMatchObject({
          code: 'CONSENT_REQUIRED',
          message: expect.stringContaining('withdrawn'),
        });
        expect(withdrawn.map((e) => e.event.id)).toEqual([event.id]);
        expect(await Promise.all(seenByOthers)).toEqual([[{ type: 'withdrawn' }]]);
        await c.agent.next('consent.withdrawn', (e: { eventId: string }) => e.eventId === event.id);
      } finally {
        events.off(CONSENT_EVENTS.withdrawn, listener);
        c.close();
      }
    });

    it('keeps an earlier grant tied to the text it was given under when a new version is published (R8.1)', async () => {
      const c = await chat('cust-versions');
      const admin = await app.token('admin', 'admin-versions');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['transcription']);
        const v1 = prompts[0];
        const granted = await c.customer.call<{ ledgerEvent: { id: string } }>('consent.answer', { requestId: v1.requestId, decision: 'grant', textHash: v1.textHash });
        const published = await request(app.url)
          .post('/consent/purposes/transcription/texts')
          .set(auth(admin))
          .send({
            locale: 'nl-NL',
            title: 'Mogen we van uw bericht een tekst maken?',
            body: 'We maken graag een tekst van wat u zegt. Het gaat om:\n{categories}\nWe bewaren de tekst 90 dagen. U kiest zelf. Zegt u nee? Dan helpen we u gewoon verder.\nU kunt dit altijd intrekken.\nVragen? Mail naar {privacyContact}.\nEen klacht? Dat kan bij {authority}.',
            categories: { call_transcript: 'De tekst van wat u zegt' },
          })
          .expect(201);
        expect(published.body).toMatchObject({ version: 2, source: 'admin', locale: 'nl-NL' });
        expect(published.body.textHash).not.toBe(v1.textHash);

        const [event] = await sql(`SELECT text_version_id, text_sha256 FROM consent_events WHERE id = $1`, [granted.ledgerEvent.id]);
        expect(event).toEqual({ text_version_id: v1.textVersionId, text_sha256: v1.textHash });
        const [old] = await sql<{ text: string; sha256: string }>(`SELECT text, sha256 FROM consent_text_versions WHERE id = $1`, [v1.textVersionId]);
        expect(old).toEqual({ text: v1.text, sha256: v1.textHash });
        // New requests get the new version; the grant still holds.
        const again = await ask(c.agent, c.customer, c.conversationId, ['transcription']);
        expect(again.prompts[0]).toMatchObject({ version: 2, textHash: published.body.textHash });
        await app.app.get(ConsentGate).require(c.customerId, 'transcription', { conversationId: c.conversationId });
      } finally {
        c.close();
      }
    });

    it('answers bad input with a clear error', async () => {
      const c = await chat('cust-bad');
      try {
        await expect(c.agent.call('consent.request', { conversationId: c.conversationId, purposes: ['support'] })).rejects.toMatchObject({ code: 'CONSENT_NOT_NEEDED' });
        await expect(c.agent.call('consent.request', { conversationId: c.conversationId, purposes: ['no_such'] })).rejects.toMatchObject({ code: 'PURPOSE_NOT_FOUND' });
        await expect(c.agent.call('consent.request', { conversationId: c.conversationId, purposes: [] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(c.customer.call('consent.request', { conversationId: c.conversationId, purposes: ['diagnostics'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
        const other = await ChatClient.connect(app.url, await app.token('agent', 'agent-not-assigned'));
        // Taken by someone else: not even visible to this agent.
        await expect(other.call('consent.request', { conversationId: c.conversationId, purposes: ['diagnostics'] })).rejects.toMatchObject({
          code: 'CONVERSATION_NOT_FOUND',
        });
        other.close();
        await request(app.url).post('/consent/requests/not-a-uuid/answer').set(auth(c.customerToken)).send({ decision: 'grant', textHash: 'x' }).expect(400);
      } finally {
        c.close();
      }
    });
  });

  describe('under concurrency', () => {
    it('asks once when the same question is asked twice at the same moment', async () => {
      const c = await chat('cust-twice');
      try {
        const [one, two] = await Promise.all([
          c.agent.call<{ requests: Array<{ id: string }> }>('consent.request', { conversationId: c.conversationId, purposes: ['diagnostics'] }),
          request(app.url).post(`/conversations/${c.conversationId}/consent-requests`).set(auth(agentToken)).send({ purposes: ['diagnostics'] }).expect(201),
        ]);
        expect(one.requests[0].id).toBe((two.body as { requests: Array<{ id: string }> }).requests[0].id);
        expect(await sql(`SELECT count(*)::int AS n FROM consent_requests WHERE conversation_id = $1`, [c.conversationId])).toEqual([{ n: 1 }]);
      } finally {
        c.close();
      }
    });

    it('refuses to ask with a text that does not name the purpose’s categories (changed by an admin)', async () => {
      const admin = await app.token('admin', 'admin-categories');
      await request(app.url).post('/consent/purposes').set(auth(admin)).send({ code: 'remote_session', legalBasis: 'consent', retentionTag: 'diagnostics', categories: ['screen_image'], description: 'Remote session' }).expect(201);
      const body = 'We would like to see your screen. We see:\n{categories}\nWe keep nothing after 30 days. If you say no, we will still help you.\nYou can withdraw at any time.\nQuestions? Write to {privacyContact}.\nYou can complain to {authority}.';
      for (const locale of ['en', 'nl-NL']) {
        await request(app.url).post('/consent/purposes/remote_session/texts').set(auth(admin)).send({ locale, title: 'May we see your screen?', body, categories: { screen_image: 'What is on your screen' } }).expect(201);
      }
      await request(app.url).patch('/consent/purposes/remote_session').set(auth(admin)).send({ categories: ['screen_image', 'keyboard_input'] }).expect(200);
      const c = await chat('cust-categories');
      try {
        await expect(c.agent.call('consent.request', { conversationId: c.conversationId, purposes: ['remote_session'] })).rejects.toMatchObject({
          code: 'CONSENT_TEXT_NOT_FOUND',
        });
      } finally {
        c.close();
      }
    });
  });

  describe('the diagnostics upload token (R3.2)', () => {
    it('is single-use, bound to its conversation, short-lived, and worthless after a withdrawal', async () => {
      const tokens = app.app.get(UploadTokensService);
      const grant = async (c: Awaited<ReturnType<typeof chat>>) => {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['diagnostics']);
        const answer = await c.customer.call<{ uploadToken: { token: string } }>('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: prompts[0].textHash });
        return answer.uploadToken.token;
      };
      const a = await chat('cust-token-a');
      const b = await chat('cust-token-b');
      try {
        const token = await grant(a);
        await expect(tokens.redeem(token, { conversationId: b.conversationId, purpose: 'diagnostics' })).rejects.toMatchObject({ code: 'UPLOAD_TOKEN_INVALID' });
        await expect(tokens.redeem(token, { conversationId: a.conversationId, purpose: 'chat_recording' })).rejects.toMatchObject({ code: 'UPLOAD_TOKEN_INVALID' });
        await expect(tokens.redeem(token, { conversationId: a.conversationId, purpose: 'diagnostics', customerId: b.customerId })).rejects.toMatchObject({
          code: 'UPLOAD_TOKEN_INVALID',
        });
        const redeemed = await tokens.redeem(token, { conversationId: a.conversationId, purpose: 'diagnostics', customerId: a.customerId });
        expect(redeemed).toMatchObject({ conversationId: a.conversationId, customerId: a.customerId, basis: { legalBasis: 'consent' } });
        await expect(tokens.redeem(token, { conversationId: a.conversationId, purpose: 'diagnostics' })).rejects.toMatchObject({ code: 'UPLOAD_TOKEN_INVALID' });

        const late = await grant(a);
        clock.advance(901_000);
        await expect(tokens.redeem(late, { conversationId: a.conversationId, purpose: 'diagnostics' })).rejects.toMatchObject({ code: 'UPLOAD_TOKEN_INVALID' });

        const withdrawnToken = await grant(b);
        await b.customer.call('consent.withdraw', { conversationId: b.conversationId, purpose: 'diagnostics' });
        await expect(tokens.redeem(withdrawnToken, { conversationId: b.conversationId, purpose: 'diagnostics' })).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });
        // Closed conversation: its token is worth nothing.
        const closing = await grant(a);
        await a.customer.call('conversation.close', { conversationId: a.conversationId });
        await expect(tokens.redeem(closing, { conversationId: a.conversationId, purpose: 'diagnostics' })).rejects.toMatchObject({ code: 'UPLOAD_TOKEN_INVALID' });
        const stored = await sql<{ token_sha256: string }>(`SELECT token_sha256 FROM consent_upload_tokens WHERE customer_id = $1`, [a.customerId]);
        expect(stored.map((r) => r.token_sha256)).toContain(sha256(token));
        expect(JSON.stringify(stored)).not.toContain(token);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('standing choices and the privacy page (R1.4)', () => {
    it('lets a customer grant and withdraw at any time, unasked, and list everything they decided', async () => {
      const token = await app.token('customer', 'cust-standing');
      const page = await request(app.url).get('/me/privacy').set(auth(token)).set('Accept-Language', 'en').expect(200);
      expect(page.body).toMatchObject({ locale: 'en', contact: { email: 'privacy@snelstart.nl' }, complaint: { url: 'https://www.autoriteitpersoonsgegevens.nl' } });
      const profile = page.body.purposes.find((p: { code: string }) => p.code === 'customer_profile');
      expect(profile).toMatchObject({ needsConsent: true, choice: { standing: null, grantedInConversations: [] } });
      expect(profile.textHash).toBe(sha256(profile.text));

      await request(app.url).put('/me/consents/customer_profile').set(auth(token)).send({ decision: 'grant', textHash: sha256('old text') }).expect(409);
      await request(app.url).put('/me/consents/customer_profile').set(auth(token)).send({ decision: 'grant' }).expect(409);
      const granted = await request(app.url)
        .put('/me/consents/customer_profile')
        .set(auth(token))
        .set('User-Agent', 'Browser/2')
        .send({ decision: 'grant', textHash: profile.textHash })
        .expect(200);
      expect(granted.body).toMatchObject({ type: 'granted', scope: 'standing', channel: 'web', locale: 'en', textHash: profile.textHash });
      expect(granted.body.evidence).toEqual({ via: 'privacy-page', userAgentSha256: sha256('Browser/2') });
      const customerId = granted.body.customerId as string;
      const gate = app.app.get(ConsentGate);
      await gate.require(customerId, 'customer_profile', 'standing');

      const current = await request(app.url).get('/me/consents').set(auth(token)).expect(200);
      expect(current.body.standing).toEqual([expect.objectContaining({ purpose: 'customer_profile', type: 'granted' })]);

      await request(app.url).put('/me/consents/customer_profile').set(auth(token)).send({ decision: 'withdraw' }).expect(200);
      await expect(gate.require(customerId, 'customer_profile', 'standing')).rejects.toMatchObject({ code: 'CONSENT_REQUIRED' });
      await request(app.url).put('/me/consents/support').set(auth(token)).send({ decision: 'withdraw' }).expect(400);

      const history = await request(app.url).get('/me/consents/history').set(auth(token)).expect(200);
      expect(history.body.items.map((e: { type: string; purpose: string }) => `${e.type}:${e.purpose}`)).toEqual(['granted:customer_profile', 'withdrawn:customer_profile']);
      await request(app.url).get('/me/consents/history').set(auth(agentToken)).expect(403);
    });

    it('a standing withdrawal overrides grants given in conversations', async () => {
      const c = await chat('cust-standing-wins');
      try {
        const { prompts } = await ask(c.agent, c.customer, c.conversationId, ['chat_recording']);
        await c.customer.call('consent.answer', { requestId: prompts[0].requestId, decision: 'grant', textHash: prompts[0].textHash });
        const mine = await request(app.url).get('/me/consents').set(auth(c.customerToken)).expect(200);
        expect(mine.body.conversationGrants).toEqual([expect.objectContaining({ purpose: 'chat_recording', conversationId: c.conversationId })]);
        await request(app.url).put('/me/consents/chat_recording').set(auth(c.customerToken)).send({ decision: 'withdraw' }).expect(200);
        await expect(app.app.get(ConsentGate).require(c.customerId, 'chat_recording', { conversationId: c.conversationId })).rejects.toMatchObject({
          code: 'CONSENT_REQUIRED',
        });
        // The agent of the open conversation hears of it.
        await c.agent.next('consent.withdrawn', (e: { scope: string }) => e.scope === 'standing');
        expect((await request(app.url).get('/me/consents').set(auth(c.customerToken)).expect(200)).body.conversationGrants).toEqual([]);
      } finally {
        c.close();
      }
    });

    it('serves the public privacy page in the visitor’s language with the contact and the right to complain (R7.1, R9.1)', async () => {
      const nl = await request(app.url).get('/privacy').expect(200);
      expect(nl.body).toMatchObject({ locale: 'nl-NL', country: 'NL', contact: { email: 'privacy@snelstart.nl' } });
      expect(nl.body.complaint.text).toContain('Autoriteit Persoonsgegevens');
      const withText = nl.body.purposes.filter((p: { text: string | null }) => p.text !== null);
      expect(withText.map((p: { code: string }) => p.code)).toEqual(expect.arrayContaining(['support', 'diagnostics', 'customer_profile']));
      expect(withText.every((p: { text: string }) => p.text.includes('privacy@snelstart.nl'))).toBe(true);
      expect(nl.body.purposes[0]).not.toHaveProperty('choice');
      const en = await request(app.url).get('/privacy?locale=en-US').expect(200);
      expect(en.body).toMatchObject({ locale: 'en', formatLocale: 'en-US', country: 'US' });
    });
  });

  describe('the ledger', () => {
    it('refuses UPDATE, DELETE and TRUNCATE in the database itself', async () => {
      const [row] = await sql<{ id: string }>(`SELECT id FROM consent_events LIMIT 1`);
      expect(row).toBeDefined();
      await expect(sql(`UPDATE consent_events SET type = 'granted' WHERE id = $1`, [row.id])).rejects.toThrow(/consent_events is append-only: UPDATE is not allowed/);
      await expect(sql(`DELETE FROM consent_events WHERE id = $1`, [row.id])).rejects.toThrow(/append-only: DELETE/);
      await expect(sql(`TRUNCATE consent_events CASCADE`)).rejects.toThrow(/append-only: TRUNCATE/);
      expect(await sql(`SELECT count(*)::int AS n FROM consent_events WHERE id = $1`, [row.id])).toEqual([{ n: 1 }]);
    });

    it('refuses a grant that does not come from the customer or names no text, by constraint', async () => {
      const [e] = await sql<{ customer_id: string; conversation_id: string; text_version_id: string; text_sha256: string }>(
        `SELECT customer_id, conversation_id, text_version_id, text_sha256 FROM consent_events WHERE type = 'granted' AND scope = 'conversation' LIMIT 1`,
      );
      const insert = (actor: string, sha: string | null) =>
        sql(
          `INSERT INTO consent_events (type, customer_id, purpose, scope, conversation_id, actor_kind, channel, text_version_id, text_sha256, occurred_at)
           VALUES ('granted', $1, 'diagnostics', 'conversation', $2, $3, 'chat', $4, $5, now())`,
          [e.customer_id, e.conversation_id, actor, e.text_version_id, sha],
        );
      await expect(insert('staff', e.text_sha256)).rejects.toThrow(/CHK_consent_events_decided_by_customer/);
      await expect(insert('customer', null)).rejects.toThrow(/CHK_consent_events_text_shown/);
    });

    it('shows a privacy officer a customer’s ledger, and nobody else', async () => {
      const [e] = await sql<{ customer_id: string }>(`SELECT customer_id FROM consent_events LIMIT 1`);
      const officer = await app.token('privacy_officer', 'officer-ledger');
      const res = await request(app.url).get(`/consent/ledger?customerId=${e.customer_id}`).set(auth(officer)).expect(200);
      expect(res.body.items.length).toBeGreaterThan(0);
      await request(app.url).get(`/consent/ledger?customerId=${e.customer_id}`).set(auth(agentToken)).expect(403);
    });
  });
});
