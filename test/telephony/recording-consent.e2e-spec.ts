import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { BLOB_STORE, type BlobStore } from '../../src/storage/blob-store';
import { signTelephonyRequest } from '../../src/telephony/telephony-signature';
import { ChatClient } from '../support/chat-client';
import { FakeClock } from '../support/fake-clock';
import { withClient } from '../support/postgres-server';
import { createTestApp, type TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait-until';

const SECRET = 'telephony-consent-secret-telephony-consent-secret';

describe('phone consent (R3.4): key presses, the recording permission, stopping at once', () => {
  let app: TestApp;
  const clock = new FakeClock();
  const sql = async (text: string, params: unknown[] = []) => (await withClient(app.database.url, (c) => c.query(text, params))).rows;
  const now = () => Math.floor(clock.now().getTime() / 1000);

  function post(event: object) {
    const body = JSON.stringify(event);
    const timestamp = now();
    return request(app.url)
      .post('/telephony/events')
      .set('content-type', 'application/json')
      .set('x-telephony-timestamp', String(timestamp))
      .set('x-telephony-signature', signTelephonyRequest(SECRET, timestamp, body))
      .send(body);
  }

  /** The phone system's question, signed over method and path. */
  function permission(callId: string, options: { query?: string; secret?: string; path?: string } = {}) {
    const path = `/telephony/calls/${encodeURIComponent(callId)}/recording-permission${options.query ?? ''}`;
    const timestamp = now();
    return request(app.url)
      .get(path)
      .set('x-telephony-timestamp', String(timestamp))
      .set('x-telephony-signature', signTelephonyRequest(options.secret ?? SECRET, timestamp, `GET ${options.path ?? path}`));
  }

  /** A streamed upload: signed over method, path and the body's SHA-256. */
  function upload(path: string, body: Buffer, options: { sha?: string; type?: string } = {}) {
    const sha = options.sha ?? createHash('sha256').update(body).digest('hex');
    const timestamp = now();
    return request(app.url)
      .post(path)
      .set('content-type', options.type ?? 'audio/wav')
      .set('x-content-sha256', sha)
      .set('x-telephony-timestamp', String(timestamp))
      .set('x-telephony-signature', signTelephonyRequest(SECRET, timestamp, `POST ${path} ${sha}`))
      .send(body);
  }
  const wav = (n: number) => Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(n)]);

  const event = (type: string, call: object, extra: object = {}) => ({ id: `evt-${randomUUID()}`, type, occurredAt: clock.now().toISOString(), call, ...extra });

  /** The hash of the text the phone system reads out (it fetches it like any client). */
  let promptHash: string;
  const grant = (callId: string, extra: object = {}) =>
    event('consent.keypress', { id: callId }, { consent: { decision: 'grant', digit: '1', textHash: promptHash, ...extra } });

  beforeAll(async () => {
    app = await createTestApp({ clock, env: { TELEPHONY_WEBHOOK_SECRET: SECRET } });
    promptHash = (await request(app.url).get('/consent/purposes/call_recording/text').expect(200)).body.textHash;
  });
  afterAll(() => app.close());

  async function answeredCall(agentSubject: string) {
    const callId = `call-${randomUUID()}`;
    await post(event('call.started', { id: callId, direction: 'inbound', from: `+31 6 ${Math.floor(10_000_000 + Math.random() * 89_999_999)}` })).expect(200);
    await post(event('call.answered', { id: callId, agentSubject })).expect(200);
    const [call] = await sql(`SELECT c.conversation_id, v.customer_id FROM calls c JOIN conversations v ON v.id = c.conversation_id WHERE provider_call_id = $1`, [callId]);
    return { callId, conversationId: call.conversation_id as string, customerId: call.customer_id as string };
  }

  it('denies recording until the caller presses the key, allows it after, and records the key press as evidence', async () => {
    const { callId, conversationId, customerId } = await answeredCall('agent-rec-1');
    const before = await permission(callId).expect(200);
    expect(before.body).toMatchObject({ callId, conversationId, purpose: 'call_recording', decision: 'deny', reason: 'not_asked', consentEventId: null });

    const press = grant(callId);
    await post(press).expect(200, { status: 'accepted' });
    await post(press).expect(200, { status: 'duplicate' }); // a replay records nothing more

    const after = await permission(callId).expect(200);
    expect(after.body).toMatchObject({ decision: 'allow', reason: 'consent_granted' });
    const events = await sql(`SELECT * FROM consent_events WHERE customer_id = $1 ORDER BY position`, [customerId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: after.body.consentEventId,
      type: 'granted',
      purpose: 'call_recording',
      scope: 'conversation',
      conversation_id: conversationId,
      actor_kind: 'customer',
      actor_id: customerId,
      channel: 'ivr',
      evidence: { digit: '1', providerCallId: callId, telephonyEventId: press.id },
      locale: 'nl-NL',
    });
    const [text] = await sql(`SELECT sha256 FROM consent_text_versions WHERE id = $1`, [events[0].text_version_id]);
    expect(events[0].text_sha256).toBe(text.sha256);
    expect(events[0].text_sha256).toBe(promptHash);
    // Transcription is a purpose of its own: the recording grant does not cover it.
    expect((await permission(callId, { query: '?purpose=transcription' }).expect(200)).body).toMatchObject({ decision: 'deny', reason: 'not_asked' });
  });

  it('a withdrawal mid-call denies at once and tells the agent’s console to stop recording', async () => {
    const agent = await ChatClient.connect(app.url, await app.token('agent', 'agent-rec-2'));
    try {
      const { callId, conversationId } = await answeredCall('agent-rec-2');
      await post(grant(callId)).expect(200);
      expect((await permission(callId).expect(200)).body.decision).toBe('allow');
      await sql(`UPDATE calls SET recording_state = 'recording' WHERE provider_call_id = $1`, [callId]);

      await post(event('consent.keypress', { id: callId }, { consent: { decision: 'withdraw', digit: '9' } })).expect(200);
      expect((await permission(callId).expect(200)).body).toMatchObject({ decision: 'deny', reason: 'withdrawn' });
      const stop = await agent.next<{ callId: string; conversationId: string; reason: string }>('recording.stop', (e) => e.callId === callId);
      expect(stop).toMatchObject({ conversationId, reason: 'consent_withdrawn', purpose: 'call_recording' });
      expect(await sql(`SELECT recording_state FROM calls WHERE provider_call_id = $1`, [callId])).toEqual([{ recording_state: 'stopped' }]);

      // Transcription is stopped the same way.
      const transcriptHash = (await request(app.url).get('/consent/purposes/transcription/text').expect(200)).body.textHash as string;
      await post(grant(callId, { purpose: 'transcription', textHash: transcriptHash })).expect(200);
      expect((await permission(callId, { query: '?purpose=transcription' }).expect(200)).body.decision).toBe('allow');
      await post(event('consent.keypress', { id: callId }, { consent: { purpose: 'transcription', decision: 'withdraw', digit: '8' } })).expect(200);
      expect((await permission(callId, { query: '?purpose=transcription' }).expect(200)).body.decision).toBe('deny');
      await agent.next('recording.stop', (e: { callId: string; purpose: string }) => e.callId === callId && e.purpose === 'transcription');
    } finally {
      agent.close();
    }
  });

  it('a withdrawal on the privacy page stops the live call’s recording too', async () => {
    const agent = await ChatClient.connect(app.url, await app.token('agent', 'agent-rec-3'));
    try {
      const callId = `call-${randomUUID()}`;
      await post(event('call.started', { id: callId, direction: 'inbound', customerSubject: 'caller-with-account' })).expect(200);
      await post(event('call.answered', { id: callId, agentSubject: 'agent-rec-3' })).expect(200);
      await post(grant(callId)).expect(200);
      expect((await permission(callId).expect(200)).body.decision).toBe('allow');
      const customer = await app.token('customer', 'caller-with-account');
      await request(app.url).put('/me/consents/call_recording').set('Authorization', `Bearer ${customer}`).send({ decision: 'withdraw' }).expect(200);
      expect((await permission(callId).expect(200)).body).toMatchObject({ decision: 'deny', reason: 'withdrawn' });
      await agent.next('recording.stop', (e: { callId: string }) => e.callId === callId);
    } finally {
      agent.close();
    }
  });

  it('stores recording segments only while the caller’s consent holds, and transcripts only with their own', async () => {
    const { callId, conversationId } = await answeredCall('agent-rec-6');
    const stored = () => sql(`SELECT kind, purpose, legal_basis, consent_event_id, attributes FROM artifacts WHERE conversation_id = $1 ORDER BY captured_at`, [conversationId]);
    expect((await upload(`/telephony/calls/${callId}/recordings/1`, wav(1000)).expect(403)).body.code).toBe('CONSENT_REQUIRED');
    expect(await stored()).toEqual([]);

    await post(grant(callId)).expect(200);
    const first = await upload(`/telephony/calls/${callId}/recordings/1`, wav(20_000)).expect(201);
    expect(first.body).toMatchObject({ kind: 'call_recording', purpose: 'call_recording', legalBasis: 'consent', retentionTag: 'call_recording', contentType: 'audio/wav' });
    expect(await sql(`SELECT recording_state FROM calls WHERE provider_call_id = $1`, [callId])).toEqual([{ recording_state: 'recording' }]);
    // The phone system retrying the same segment gets the same capture; different bytes under its number are a conflict.
    const again = await upload(`/telephony/calls/${callId}/recordings/1`, wav(20_000)).expect(201);
    expect(again.body.id).toBe(first.body.id);
    expect((await upload(`/telephony/calls/${callId}/recordings/1`, wav(20_001)).expect(409)).body.code).toBe('CONFLICT');
    // A body other than the one signed is not kept.
    await upload(`/telephony/calls/${callId}/recordings/2`, wav(500), { sha: createHash('sha256').update('other').digest('hex') }).expect(401);
    // The transcript needs consent for transcription, not for the recording.
    expect((await upload(`/telephony/calls/${callId}/transcripts`, Buffer.from('Klant: mijn factuur\n'), { type: 'text/plain' }).expect(403)).body.code).toBe('CONSENT_REQUIRED');
    const transcriptHash = (await request(app.url).get('/consent/purposes/transcription/text').expect(200)).body.textHash as string;
    await post(grant(callId, { purpose: 'transcription', textHash: transcriptHash })).expect(200);
    const transcript = await upload(`/telephony/calls/${callId}/transcripts`, Buffer.from('Klant: mijn factuur\n'), { type: 'text/plain' }).expect(201);
    expect(transcript.body).toMatchObject({ kind: 'call_transcript', purpose: 'transcription', retentionTag: 'call_transcript', contentType: 'text/plain; charset=utf-8' });

    await post(event('consent.keypress', { id: callId }, { consent: { decision: 'withdraw', digit: '9' } })).expect(200);
    // A segment that starts after the withdrawal: refused, nothing kept.
    expect((await upload(`/telephony/calls/${callId}/recordings/2`, wav(1000)).expect(403)).body.code).toBe('CONSENT_REQUIRED');
    const rows = (await stored()).filter((r) => r.kind === 'call_recording');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'call_recording', purpose: 'call_recording', legal_basis: 'consent' });
    expect(rows[0].consent_event_id).toBe(first.body.consentEventId);
    // R10.4: what the withdrawn consent covered is purged at once; the tombstone keeps no call reference.
    await waitUntil(async () => (await sql(`SELECT state FROM artifacts WHERE id = $1`, [first.body.id]))[0].state === 'purged', 'segment purged after the withdrawal');
    expect(await sql(`SELECT purge_reason, attributes FROM artifacts WHERE id = $1`, [first.body.id])).toEqual([{ purge_reason: 'consent_withdrawn', attributes: {} }]);
    // The store holds exactly the objects of the stored rows: refused segments left nothing behind.
    const store = app.app.get<BlobStore>(BLOB_STORE);
    const keys: string[] = [];
    for await (const entry of store.list('call_recording/')) keys.push(entry.key);
    const storedKeys = await sql(`SELECT storage_key FROM artifacts WHERE purpose = 'call_recording' AND state = 'stored'`);
    expect(keys.sort()).toEqual(storedKeys.map((r) => r.storage_key as string).sort());
    // Unsigned or JSON bodies are refused.
    await request(app.url).post(`/telephony/calls/${callId}/recordings/3`).set('content-type', 'audio/wav').send(wav(10)).expect(401);
    expect((await upload(`/telephony/calls/${callId}/recordings/3`, Buffer.from('{"a":1}'), { type: 'application/json' }).expect(415)).body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('denies once the call has ended, refuses unknown calls, and checks the signature over the path', async () => {
    const { callId } = await answeredCall('agent-rec-4');
    await post(grant(callId)).expect(200);
    await post(event('call.ended', { id: callId })).expect(200);
    expect((await permission(callId).expect(200)).body).toMatchObject({ decision: 'deny', reason: 'call_ended' });
    await post(grant(callId)).expect(409);

    expect((await permission(`call-${randomUUID()}`).expect(404)).body.code).toBe('CALL_NOT_FOUND');
    // A signature made for another call's path does not open this one.
    const other = await permission(callId, { path: '/telephony/calls/someone-else/recording-permission' }).expect(401);
    expect(other.body.code).toBe('INVALID_SIGNATURE');
    await permission(callId, { secret: 'x'.repeat(40) }).expect(401);
    await request(app.url).get(`/telephony/calls/${callId}/recording-permission`).expect(401);
  });

  it('refuses a key press for a stale or unnamed prompt text, another purpose or a bad digit, recording nothing', async () => {
    const { callId, customerId } = await answeredCall('agent-rec-5');
    const stale = createHash('sha256').update('an old prompt').digest('hex');
    expect((await post(grant(callId, { textHash: stale })).expect(409)).body.code).toBe('STALE_CONSENT_TEXT');
    // The ledger must name the text the caller heard (R1.2).
    expect((await post(event('consent.keypress', { id: callId }, { consent: { decision: 'grant', digit: '1' } })).expect(400)).body.code).toBe('VALIDATION_FAILED');
    // A key press decides recording and transcription only; diagnostics need a screen.
    expect((await post(grant(callId, { purpose: 'diagnostics' })).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post(grant(callId, { digit: '12' })).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect((await post(event('consent.keypress', { id: callId })).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect(await sql(`SELECT count(*)::int AS n FROM consent_events WHERE customer_id = $1`, [customerId])).toEqual([{ n: 0 }]);
  });
});
