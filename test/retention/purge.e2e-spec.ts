import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import request from 'supertest';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import { AppConfig } from '../../src/config/app-config';
import { ADVISORY_LOCKS } from '../../src/database/advisory-locks';
import { PurgeJob } from '../../src/retention/purge.job';
import { PurgeService } from '../../src/retention/purge.service';
import { BLOB_STORE, type BlobStore } from '../../src/storage/blob-store';
import { createBlobStore } from '../../src/storage/storage.module';
import { ChatClient } from '../support/chat-client';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeClock } from '../support/fake-clock';
import { withClient } from '../support/postgres-server';
import { startS3Server, type TestS3Server } from '../support/s3-server';
import { createTestApp, type TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait-until';

const DAY = 86_400_000;

function multipart(content: Buffer): { body: Buffer; type: string } {
  const boundary = `----sd${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\nContent-Type: text/plain\r\n\r\n`);
  return { body: Buffer.concat([head, content, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

describe('the purge (R10.2, R10.4, R10.5), against S3 (s3rver over HTTP)', () => {
  let s3: TestS3Server;
  let database: TestDatabase;
  let app: TestApp;
  let store: BlobStore;
  let agent: string;
  let officer: string;
  const clock = new FakeClock();
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await withClient(database.url, (c) => c.query<T>(text, params))).rows;
  const purge = () => app.app.get(PurgeService).run({ trigger: 'command' });
  /**
   * Makes items due: their conversation closed (their clock counts from the
   * close; an open conversation's items are never due by time) and their
   * retain_until just past.
   */
  const expire = async (ids: string[]) => {
    await sql(`UPDATE conversations SET status = 'closed', closed_at = $2 WHERE id IN (SELECT conversation_id FROM artifacts WHERE id = ANY($1)) AND status <> 'closed'`, [
      ids,
      clock.now(),
    ]);
    await sql(`UPDATE artifacts SET retain_until = $2 WHERE id = ANY($1)`, [ids, new Date(clock.now().getTime() - 1000)]);
  };
  const keyOf = async (id: string) => (await sql<{ storage_key: string }>(`SELECT storage_key FROM artifacts WHERE id = $1`, [id]))[0].storage_key;

  beforeAll(async () => {
    s3 = await startS3Server();
    database = await createTestDatabase();
    app = await createTestApp({ database, clock, env: s3.env });
    store = createBlobStore(AppConfig.fromEnv({ NODE_ENV: 'test', DATA_DIR: app.dataDir, ...s3.env }));
    agent = await app.token('agent', 'agent-purge');
    officer = await app.token('privacy_officer', 'officer-purge');
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
    await s3?.dispose();
  });

  async function chat(subject: string) {
    const customer = await app.token('customer', subject);
    const conversation = (await request(app.url).post('/conversations').set(auth(customer)).expect(201)).body as { id: string; customerId: string };
    await request(app.url).post(`/conversations/${conversation.id}/assign`).set(auth(agent)).send({}).expect(200);
    return { customer, conversationId: conversation.id, customerId: conversation.customerId };
  }
  async function attach(token: string, conversationId: string): Promise<string> {
    const { body, type } = multipart(randomBytes(3000));
    return ((await request(app.url).post(`/conversations/${conversationId}/attachments`).set(auth(token)).set('content-type', type).send(body).expect(201)).body as { id: string }).id;
  }
  async function diagnostics(customer: string, conversationId: string): Promise<string> {
    const socket = await ChatClient.connect(app.url, customer);
    try {
      const asked = await request(app.url).post(`/conversations/${conversationId}/consent-requests`).set(auth(agent)).send({ purposes: ['diagnostics'] }).expect(201);
      const prompt = asked.body.prompts[0] as { requestId: string; textHash: string };
      const answer = await socket.call<{ uploadToken: { token: string } }>('consent.answer', { requestId: prompt.requestId, decision: 'grant', textHash: prompt.textHash });
      const zip = Buffer.concat([Buffer.from('504b030414000000', 'hex'), randomBytes(2000)]);
      const res = await request(app.url).post(`/conversations/${conversationId}/diagnostics`).set('x-upload-token', answer.uploadToken.token).set('content-type', 'application/zip').send(zip).expect(201);
      return (res.body as { id: string }).id;
    } finally {
      socket.close();
    }
  }

  it('purges an item on the first run after its retain_until and not before, leaving a content-free tombstone and a run record', async () => {
    const c = await chat('cust-purge-time');
    const id = await diagnostics(c.customer, c.conversationId);
    const key = await keyOf(id);
    clock.advance(30 * DAY - 60_000);
    await purge();
    expect((await sql(`SELECT state FROM artifacts WHERE id = $1`, [id]))[0].state).toBe('stored');
    clock.advance(120_000);
    const run = await purge();
    expect(run).toMatchObject({ status: 'completed', dryRun: false, failures: [] });
    expect(run.totals).toEqual(expect.arrayContaining([{ kind: 'diagnostics_bundle', purpose: 'diagnostics', tag: 'diagnostics', items: 1, bytes: 2008 }]));
    const [row] = await sql(`SELECT * FROM artifacts WHERE id = $1`, [id]);
    // Every column of the tombstone: what stays, and what is gone.
    expect(row).toEqual({
      id,
      kind: 'diagnostics_bundle',
      conversation_id: c.conversationId,
      customer_id: c.customerId,
      purpose: 'diagnostics',
      legal_basis: 'consent',
      consent_event_id: expect.any(String),
      retention_tag: 'diagnostics',
      retain_until: expect.any(Date),
      state: 'purged',
      storage_key: null,
      size: '2008',
      reserved_bytes: null,
      sha256: null,
      content_type: 'application/zip',
      file_name: null,
      source_ref: null,
      attributes: {},
      captured_by_kind: 'customer',
      captured_by_id: null,
      captured_at: expect.any(Date),
      stored_at: expect.any(Date),
      created_at: expect.any(Date),
      purge_reason: 'retention',
      purged_at: clock.now(),
      purge_run_id: run.id,
    });
    expect(await store.head(key)).toBeUndefined();
    const runs = await request(app.url).get('/retention/purge-runs').set(auth(officer)).expect(200);
    expect(runs.body[0]).toMatchObject({ id: run.id, instance: expect.any(String), itemsPurged: run.itemsPurged });
  });

  it('keeps a held item, and purges it on the first run after the hold is released', async () => {
    const c = await chat('cust-purge-hold');
    const id = await diagnostics(c.customer, c.conversationId);
    const hold = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'subject', targetId: c.customerId, reason: 'Case 12' }).expect(201);
    clock.advance(31 * DAY);
    const held = await purge();
    expect(held.itemsHeld).toBeGreaterThanOrEqual(1);
    expect((await sql(`SELECT state FROM artifacts WHERE id = $1`, [id]))[0].state).toBe('stored');
    expect(await store.head(await keyOf(id))).toBeDefined();
    await request(app.url).post(`/legal-holds/${hold.body.id}/release`).set(auth(officer)).send({ reason: 'Case 12 closed' }).expect(200);
    await purge();
    expect((await sql(`SELECT state FROM artifacts WHERE id = $1`, [id]))[0].state).toBe('purged');
  });

  it('purges exactly the items of a withdrawn consent, at once; a hold keeps one back and says so', async () => {
    const c = await chat('cust-purge-withdraw');
    const other = await chat('cust-purge-withdraw');
    const withdrawn = await diagnostics(c.customer, c.conversationId);
    const heldBack = await diagnostics(c.customer, c.conversationId);
    const otherConversation = await diagnostics(other.customer, other.conversationId);
    const attachment = await attach(c.customer, c.conversationId);
    const hold = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: heldBack, reason: 'Evidence' }).expect(201);

    const socket = await ChatClient.connect(app.url, c.customer);
    await socket.call('consent.withdraw', { conversationId: c.conversationId, purpose: 'diagnostics' });
    socket.close();
    await waitUntil(async () => (await sql(`SELECT state FROM artifacts WHERE id = $1`, [withdrawn]))[0].state === 'purged', 'purged after the withdrawal');
    const states = Object.fromEntries(
      (await sql<{ id: string; state: string; purge_reason: string | null }>(`SELECT id, state, purge_reason FROM artifacts WHERE id = ANY($1)`, [[withdrawn, heldBack, otherConversation, attachment]])).map(
        (r) => [r.id, [r.state, r.purge_reason]],
      ),
    );
    expect(states).toEqual({
      [withdrawn]: ['purged', 'consent_withdrawn'],
      [heldBack]: ['stored', 'consent_withdrawn'],
      [otherConversation]: ['stored', null],
      [attachment]: ['stored', null],
    });
    const report = await request(app.url).get('/me/purged').set(auth(c.customer)).expect(200);
    expect(report.body.purged).toEqual([expect.objectContaining({ id: withdrawn, kind: 'diagnostics_bundle', reason: 'consent_withdrawn' })]);
    expect(report.body.keptUnderHold).toEqual([expect.objectContaining({ id: heldBack, reason: 'consent_withdrawn', note: expect.stringContaining('legal hold') })]);
    expect(report.body.keptUnderHold[0].holdIds).toBeUndefined();
    // The officer sees the same, with the hold that keeps the item back; the look is audited.
    const officerView = await request(app.url).get(`/retention/customers/${c.customerId}/purged`).set(auth(officer)).expect(200);
    expect(officerView.body.purged).toEqual(report.body.purged);
    expect(officerView.body.keptUnderHold).toEqual([expect.objectContaining({ id: heldBack, reason: 'consent_withdrawn', holdIds: [hold.body.id] })]);
    await request(app.url).get(`/retention/customers/${c.customerId}/purged`).set(auth(agent)).expect(403);
    expect((await request(app.url).get('/retention/customers/not-a-uuid/purged').set(auth(officer)).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect(await sql(`SELECT 1 FROM audit_events WHERE action = 'retention.purge_report.read' AND target_id = $1`, [c.customerId])).toHaveLength(1);
  });

  it('a standing withdrawal purges that consent’s items in every conversation at once, and nothing else', async () => {
    const first = await chat('cust-purge-standing');
    const second = await chat('cust-purge-standing');
    const inFirst = await diagnostics(first.customer, first.conversationId);
    const inSecond = await diagnostics(second.customer, second.conversationId);
    const attachment = await attach(first.customer, first.conversationId);
    const stranger = await chat('cust-purge-standing-other');
    const othersBundle = await diagnostics(stranger.customer, stranger.conversationId);

    await request(app.url).put('/me/consents/diagnostics').set(auth(first.customer)).send({ decision: 'withdraw' }).expect(200);
    // No run is started here: the withdrawal's own reaction must do it (R10.4: within a minute).
    const stateOf = async (ids: string[]) =>
      Object.fromEntries((await sql<{ id: string; state: string }>(`SELECT id, state FROM artifacts WHERE id = ANY($1)`, [ids])).map((r) => [r.id, r.state]));
    await waitUntil(async () => Object.values(await stateOf([inFirst, inSecond])).every((state) => state === 'purged'), 'purged after the withdrawal');
    expect(await stateOf([inFirst, inSecond, attachment, othersBundle])).toEqual({ [inFirst]: 'purged', [inSecond]: 'purged', [attachment]: 'stored', [othersBundle]: 'stored' });
    // The fake clock stands still, so find the run by the item's tombstone rather than by time.
    const runs = await sql<{ trigger: string }>(`SELECT DISTINCT r.trigger FROM purge_runs r JOIN artifacts a ON a.purge_run_id = r.id WHERE a.id = ANY($1)`, [[inFirst, inSecond]]);
    expect(runs).toEqual([{ trigger: 'withdrawal' }]);
  });

  it('a withdrawal in one conversation purges what was captured there under a standing grant, and nothing elsewhere', async () => {
    const a = await chat('cust-purge-scoped');
    const b = await chat('cust-purge-scoped');
    const text = (await request(app.url).get('/consent/purposes/chat_recording/text?locale=nl-NL').expect(200)).body as { textHash: string };
    await request(app.url).put('/me/consents/chat_recording').set(auth(a.customer)).send({ decision: 'grant', textHash: text.textHash }).expect(200);
    for (const [n, c] of [a, b].entries()) {
      await request(app.url).post(`/conversations/${c.conversationId}/messages`).set(auth(c.customer)).send({ clientMessageId: `scoped-${n}`, body: 'Hallo' }).expect(201);
      await request(app.url).post(`/conversations/${c.conversationId}/close`).set(auth(c.customer)).expect(200);
    }
    const qualityCopy = async (conversationId: string) =>
      (await sql<{ id: string; state: string }>(`SELECT id, state FROM artifacts WHERE conversation_id = $1 AND purpose = 'chat_recording'`, [conversationId]))[0];
    await waitUntil(async () => (await qualityCopy(a.conversationId))?.state === 'stored' && (await qualityCopy(b.conversationId))?.state === 'stored', 'quality copies written');

    await request(app.url).put('/me/consents/chat_recording').set(auth(a.customer)).send({ decision: 'withdraw', conversationId: a.conversationId }).expect(200);
    await waitUntil(async () => (await qualityCopy(a.conversationId)).state === 'purged', 'purged after the withdrawal');
    expect(await sql(`SELECT purge_reason FROM artifacts WHERE id = $1`, [(await qualityCopy(a.conversationId)).id])).toEqual([{ purge_reason: 'consent_withdrawn' }]);
    expect((await qualityCopy(b.conversationId)).state).toBe('stored');
    // The support transcripts of the same chat rest on the contract, not on that consent.
    expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE conversation_id = $1 AND purpose = 'support'`, [a.conversationId])).toEqual([{ state: 'stored' }]);
  });

  it('a hold placed after an item was claimed but before its object is deleted keeps the item whole', async () => {
    const c = await chat('cust-purge-late-hold');
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    await expire(ids);
    const artifacts = app.app.get(ArtifactsService);
    const claim = artifacts.claimForPurge.bind(artifacts);
    // The officer acts in the gap between the run's claim and its object deletes.
    const spy = jest.spyOn(artifacts, 'claimForPurge').mockImplementationOnce(async (...args) => {
      const claimed = await claim(...args);
      await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: ids[0], reason: 'Dispute 4' }).expect(201);
      return claimed;
    });
    try {
      const run = await purge();
      expect(run.failures).toEqual([]);
    } finally {
      spy.mockRestore();
    }
    expect(await sql(`SELECT id, state, storage_key IS NOT NULL AS has_key FROM artifacts WHERE id = ANY($1) ORDER BY id = $2 DESC`, [ids, ids[0]])).toEqual([
      { id: ids[0], state: 'stored', has_key: true },
      { id: ids[1], state: 'purged', has_key: false },
    ]);
    expect(await store.head(await keyOf(ids[0]))).toBeDefined();
  });

  it('an item a killed run left claimed, then put under a hold, goes back whole if its object is still there', async () => {
    const c = await chat('cust-purge-stuck-hold');
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    await expire(ids);
    const artifacts = app.app.get(ArtifactsService);
    const [dead] = await sql<{ id: string }>(`INSERT INTO purge_runs (instance, trigger, dry_run, status, started_at) VALUES ('gone:2', 'schedule', false, 'running', $1) RETURNING id`, [clock.now()]);
    const claimed = await artifacts.claimForPurge(clock.now(), 10, dead.id);
    expect(claimed).toHaveLength(2);
    // The killed run got as far as deleting the second item's object only.
    await store.deleteMany([await keyOf(ids[1])]);
    const hold = await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'subject', targetId: c.customerId, reason: 'Claim 7' }).expect(201);
    const covered = await request(app.url).get(`/legal-holds/${hold.body.id}`).set(auth(officer)).expect(200);
    expect((covered.body.items as Array<{ id: string }>).map((i) => i.id).sort()).toEqual([...ids].sort());

    const run = await purge();
    expect(run.failures).toEqual([]);
    // The first is whole and held; the second's data was gone before the hold, so its row says so instead of pointing at nothing.
    expect(await sql(`SELECT id, state FROM artifacts WHERE id = ANY($1) ORDER BY id = $2 DESC`, [ids, ids[0]])).toEqual([
      { id: ids[0], state: 'stored' },
      { id: ids[1], state: 'purged' },
    ]);
    expect(await store.head(await keyOf(ids[0]))).toBeDefined();
    await request(app.url).post(`/legal-holds/${hold.body.id}/release`).set(auth(officer)).send({ reason: 'Claim 7 settled' }).expect(200);
  });

  it('an item whose policy was lengthened after the claim is not purged (still expired? is asked again)', async () => {
    const c = await chat('cust-purge-lengthened');
    const id = await attach(c.customer, c.conversationId);
    await expire([id]);
    const artifacts = app.app.get(ArtifactsService);
    const claim = artifacts.claimForPurge.bind(artifacts);
    const spy = jest.spyOn(artifacts, 'claimForPurge').mockImplementationOnce(async (...args) => {
      const claimed = await claim(...args);
      // Closed just now: under P24M from the close it is not due; the claimed item counts in the change.
      const preview = await request(app.url).post('/retention/policies/support_chat/preview').set(auth(officer)).send({ duration: 'P24M' }).expect(200);
      await request(app.url).put('/retention/policies/support_chat').set(auth(officer)).send({ duration: 'P24M', expectAffected: preview.body.affected }).expect(200);
      return claimed;
    });
    try {
      await purge();
    } finally {
      spy.mockRestore();
      const back = await request(app.url).post('/retention/policies/support_chat/preview').set(auth(officer)).send({ duration: 'P12M' }).expect(200);
      await request(app.url).put('/retention/policies/support_chat').set(auth(officer)).send({ duration: 'P12M', expectAffected: back.body.affected }).expect(200);
    }
    expect(await sql(`SELECT state, retain_until > $2 AS later FROM artifacts WHERE id = $1`, [id, clock.now()])).toEqual([{ state: 'stored', later: true }]);
    expect(await store.head(await keyOf(id))).toBeDefined();
  });

  it('counts a chat’s items from its close: never due while the chat is open, whatever their provisional time', async () => {
    const c = await chat('cust-purge-open-chat');
    const id = await attach(c.customer, c.conversationId);
    clock.advance(400 * DAY); // past capture + 12 months, the chat still open
    await purge();
    expect(await sql(`SELECT state FROM artifacts WHERE id = $1`, [id])).toEqual([{ state: 'stored' }]);
    const overdue = await request(app.url).get('/retention/overdue').set(auth(officer)).expect(200);
    expect((overdue.body as Array<{ id: string }>).map((o) => o.id)).not.toContain(id);
    // The close, in its own transaction, starts the clock: twelve months from now.
    await request(app.url).post(`/conversations/${c.conversationId}/close`).set(auth(c.customer)).expect(200);
    expect(await sql(`SELECT retain_until = $2::timestamptz + interval 'P12M' AS from_close FROM artifacts WHERE id = $1`, [id, clock.now()])).toEqual([{ from_close: true }]);
    await waitUntil(async () => (await sql(`SELECT 1 FROM artifacts WHERE conversation_id = $1 AND kind = 'chat_transcript' AND state = 'stored'`, [c.conversationId])).length === 2, 'transcripts written');
    clock.advance(366 * DAY);
    await purge();
    expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE conversation_id = $1`, [c.conversationId])).toEqual([{ state: 'purged' }]);
  });

  it('completes a run killed between deleting objects and updating rows', async () => {
    const c = await chat('cust-purge-crash');
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    await expire(ids);
    // The first half of a run: claimed, objects deleted, then the process died.
    const artifacts = app.app.get(ArtifactsService);
    const [dead] = await sql<{ id: string }>(`INSERT INTO purge_runs (instance, trigger, dry_run, status, started_at) VALUES ('gone:1', 'schedule', false, 'running', $1) RETURNING id`, [clock.now()]);
    const claimed = await artifacts.claimForPurge(clock.now(), 10, dead.id);
    expect(claimed.map((r) => r.id).sort()).toEqual([...ids].sort());
    await store.deleteMany(claimed.map((r) => r.storage_key!));
    expect((await sql(`SELECT DISTINCT state FROM artifacts WHERE id = ANY($1)`, [ids]))).toEqual([{ state: 'purging' }]);

    const run = await purge();
    expect(run.itemsPurged).toBe(2);
    expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE id = ANY($1)`, [ids])).toEqual([{ state: 'purged' }]);
    // The killed run's record says it did not finish.
    expect(await sql(`SELECT status FROM purge_runs WHERE id = $1`, [dead.id])).toEqual([{ status: 'failed' }]);
  });

  it('purges what a withdrawal took back even when its immediate reaction was lost (a crash)', async () => {
    const c = await chat('cust-purge-lost-reaction');
    const id = await diagnostics(c.customer, c.conversationId);
    // A standing withdrawal written to the ledger without anyone reacting to it.
    await sql(
      `INSERT INTO consent_events (type, customer_id, purpose, scope, actor_kind, actor_id, channel, occurred_at)
       VALUES ('withdrawn', $1, 'diagnostics', 'standing', 'customer', $1, 'web', $2)`,
      [c.customerId, clock.now()],
    );
    await purge();
    expect(await sql(`SELECT state, purge_reason FROM artifacts WHERE id = $1`, [id])).toEqual([{ state: 'purged', purge_reason: 'consent_withdrawn' }]);
  });

  it('two instances purging at once purge each item exactly once', async () => {
    const second = await createTestApp({ database, clock, env: s3.env });
    try {
      const c = await chat('cust-purge-twice');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await attach(c.customer, c.conversationId));
      await expire(ids);
      const [one, two] = await Promise.all([purge(), second.app.get(PurgeService).run({ trigger: 'schedule' })]);
      expect([one.status, two.status].every((s) => s === 'completed' || s === 'skipped')).toBe(true);
      expect(one.itemsPurged + two.itemsPurged).toBe(6);
      const runsOf = await sql<{ purge_run_id: string }>(`SELECT purge_run_id FROM artifacts WHERE id = ANY($1) AND state = 'purged'`, [ids]);
      expect(runsOf).toHaveLength(6);
      expect(new Set(runsOf.map((r) => r.purge_run_id)).size).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('erases chat message bodies with their conversation’s transcript tag, unless held', async () => {
    const send = (token: string, conversationId: string, n: number, body: string) =>
      request(app.url).post(`/conversations/${conversationId}/messages`).set(auth(token)).send({ clientMessageId: `m-${n}`, body }).expect(201);
    const gone = await chat('cust-purge-bodies');
    const kept = await chat('cust-purge-bodies-held');
    for (const c of [gone, kept]) {
      await send(c.customer, c.conversationId, 1, 'Mijn IBAN is NL00BANK0123456789');
      await send(agent, c.conversationId, 2, 'Dank u, ik kijk mee.');
      await request(app.url).post(`/conversations/${c.conversationId}/close`).set(auth(c.customer)).expect(200);
    }
    await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'conversation', targetId: kept.conversationId, reason: 'Complaint 9' }).expect(201);
    // The transcripts are written after the close: let them land before time moves on.
    await waitUntil(
      async () => (await sql(`SELECT 1 FROM artifacts WHERE conversation_id = ANY($1) AND kind = 'chat_transcript' AND state = 'stored'`, [[gone.conversationId, kept.conversationId]])).length === 4,
      'transcripts written',
    );
    clock.advance(366 * DAY);
    const totalOf = (r: { totals: Array<{ kind: string; items: number; bytes: number }> }, kind: string) => r.totals.find((t) => t.kind === kind);
    const dry = await app.app.get(PurgeService).run({ trigger: 'command', dryRun: true });
    expect(await sql(`SELECT count(*)::int AS n FROM chat_messages WHERE conversation_id = $1 AND body <> ''`, [gone.conversationId])).toEqual([{ n: 2 }]);
    const run = await purge();
    expect(run.failures).toEqual([]);
    // The dry run counted what the run then erased.
    expect(totalOf(dry, 'chat_message')).toEqual(totalOf(run, 'chat_message'));
    expect(totalOf(run, 'chat_message')?.items).toBeGreaterThanOrEqual(2);
    expect(run.totals).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'chat_message', purpose: 'support', tag: 'support_chat' })]));
    const bodies = async (conversationId: string) => (await sql<{ body: string }>(`SELECT body FROM chat_messages WHERE conversation_id = $1 ORDER BY seq`, [conversationId])).map((m) => m.body);
    expect(await bodies(gone.conversationId)).toEqual(['', '']);
    expect(await bodies(kept.conversationId)).toEqual(['Mijn IBAN is NL00BANK0123456789', 'Dank u, ik kijk mee.']);
    expect((await sql(`SELECT bodies_erased_at FROM conversations WHERE id = $1`, [gone.conversationId]))[0].bodies_erased_at).not.toBeNull();
    // Its transcripts went on the same run (same tag, from the close).
    expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE conversation_id = $1`, [gone.conversationId])).toEqual([{ state: 'purged' }]);
  });

  it('erases call metadata 24 months after the close: caller number, queue and call id go, times stay', async () => {
    const c = await chat('cust-purge-calls');
    const [call] = await sql<{ id: string }>(
      `WITH v AS (INSERT INTO conversations (channel, status, customer_id, opened_at, closed_at) VALUES ('call', 'closed', $1, $2, $2) RETURNING id)
       INSERT INTO calls (conversation_id, provider_call_id, direction, caller_number_masked, queue, started_at, ended_at, duration_seconds)
       SELECT v.id, 'pbx-purge-1', 'inbound', '+31*****5678', 'boekhouding', $2, $2, 60 FROM v RETURNING id`,
      [c.customerId, clock.now()],
    );
    clock.advance(700 * DAY);
    await purge();
    expect((await sql(`SELECT erased_at FROM calls WHERE id = $1`, [call.id]))[0].erased_at).toBeNull();
    clock.advance(40 * DAY);
    const dry = await app.app.get(PurgeService).run({ trigger: 'command', dryRun: true });
    expect(dry.totals).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'call_metadata', tag: 'call_metadata', items: 1 })]));
    expect((await sql(`SELECT erased_at FROM calls WHERE id = $1`, [call.id]))[0].erased_at).toBeNull();
    const run = await purge();
    expect(run.totals).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'call_metadata', tag: 'call_metadata', items: 1 })]));
    expect(await sql(`SELECT provider_call_id, caller_number_masked, queue, direction, duration_seconds FROM calls WHERE id = $1`, [call.id])).toEqual([
      { provider_call_id: `erased:${call.id}`, caller_number_masked: null, queue: null, direction: 'inbound', duration_seconds: 60 },
    ]);
  });

  it('reports what is stored, what expires soon, and what is overdue with why', async () => {
    const c = await chat('cust-purge-report');
    const held = await attach(c.customer, c.conversationId);
    const soon = await attach(c.customer, c.conversationId);
    await expire([held]);
    await sql(`UPDATE artifacts SET retain_until = $2 WHERE id = $1`, [soon, new Date(clock.now().getTime() + 3 * DAY)]);
    await request(app.url).post('/legal-holds').set(auth(officer)).send({ scope: 'artifact', targetId: held, reason: 'Audit 3' }).expect(201);
    const overview = await request(app.url).get('/retention/overview').set(auth(officer)).expect(200);
    expect(overview.body).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'attachment', purpose: 'support', tag: 'support_chat' })]));
    const upcoming = await request(app.url).get('/retention/upcoming').set(auth(officer)).expect(200);
    expect(upcoming.body.next7Days).toEqual(expect.arrayContaining([expect.objectContaining({ tag: 'support_chat', items: expect.any(Number) as number })]));
    const overdue = await request(app.url).get('/retention/overdue').set(auth(officer)).expect(200);
    expect(overdue.body).toEqual(expect.arrayContaining([expect.objectContaining({ id: held, why: 'a legal hold covers it' })]));
    await request(app.url).get('/retention/overdue').set(auth(agent)).expect(403);
  });

  it('reconciles: finds objects without rows and rows without objects, and repairs them unless a dry run', async () => {
    const c = await chat('cust-reconcile');
    await attach(c.customer, c.conversationId); // the store holds at least one object of ours: it is the right one
    const lost = await attach(c.customer, c.conversationId);
    await store.deleteMany([await keyOf(lost)]);
    const orphan = `support/ab/${'ab'.padEnd(8, '0')}-0000-4000-8000-000000000000`;
    await store.put(orphan, Readable.from([Buffer.from('left behind')]), { contentType: 'text/plain' });
    await store.put('notes/readme.txt', Readable.from([Buffer.from('not ours')]), { contentType: 'text/plain' });

    const dry = await request(app.url).post('/retention/reconcile').set(auth(officer)).expect(200);
    expect(dry.body).toMatchObject({ dryRun: true, orphans: [orphan], foreign: ['notes/readme.txt'], missing: [lost], deletedOrphans: 0, markedMissing: 0 });
    expect(await store.head(orphan)).toBeDefined();

    const fixed = await request(app.url).post('/retention/reconcile?dryRun=false').set(auth(officer)).expect(200);
    expect(fixed.body).toMatchObject({ dryRun: false, deletedOrphans: 1, markedMissing: 1 });
    expect(await store.head(orphan)).toBeUndefined();
    expect(await store.head('notes/readme.txt')).toBeDefined();
    expect(await sql(`SELECT state, purge_reason, storage_key FROM artifacts WHERE id = $1`, [lost])).toEqual([{ state: 'purged', purge_reason: 'object_missing', storage_key: null }]);
    const again = await request(app.url).post('/retention/reconcile').set(auth(officer)).expect(200);
    expect(again.body).toMatchObject({ orphans: [], missing: [] });
  });

  it('reconciles on its schedule, one at a time without holding up the purge, and refuses to repair a store that looks wrong', async () => {
    const c = await chat('cust-reconcile-scheduled');
    await attach(c.customer, c.conversationId);
    const lost = await attach(c.customer, c.conversationId);
    await store.deleteMany([await keyOf(lost)]);

    // Another reconcile (on some instance) holds its lock: this one waits its turn; a purge does not wait for it.
    await withClient(database.url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.reconcile]);
      const busy = await request(app.url).post('/retention/reconcile').set(auth(officer)).expect(409);
      expect(busy.body).toMatchObject({ code: 'RECONCILE_RUNNING' });
      expect(await app.app.get(PurgeJob).reconcile()).toBeUndefined();
      expect((await purge()).status).not.toBe('skipped');
      await holder.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.reconcile]);
    });

    // An instance pointed at an empty store (a wrong bucket, an unmounted disk) must not tombstone every row.
    const misconfigured = await createTestApp({ database, clock });
    try {
      const refused = await misconfigured.app.get(PurgeService).reconcile({ dryRun: false });
      expect(refused?.aborted).toMatch(/looks wrong/);
      expect(refused).toMatchObject({ checkedObjects: 0, markedMissing: 0, deletedOrphans: 0 });
      expect(await sql(`SELECT state FROM artifacts WHERE id = $1`, [lost])).toEqual([{ state: 'stored' }]);
    } finally {
      await misconfigured.close();
    }

    const report = await app.app.get(PurgeJob).reconcile();
    expect(report).toMatchObject({ dryRun: false, missingCount: 1, missing: [lost], markedMissing: 1 });
    const [audited] = await sql<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_events WHERE action = 'retention.reconcile' ORDER BY seq DESC LIMIT 1`,
    );
    expect(audited.details).toMatchObject({ trigger: 'schedule', missing: 1, markedMissing: 1 });
  });

  it('a reconcile beside a purge does not take what the purge deleted meanwhile for lost', async () => {
    const c = await chat('cust-reconcile-beside');
    await attach(c.customer, c.conversationId);
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    await expire(ids);
    const purgeService = app.app.get(PurgeService);
    const artifacts = app.app.get(ArtifactsService);
    const page = artifacts.storedPage.bind(artifacts);
    // The purge runs right after the reconciler has read the stored rows, before it looks for their objects.
    const spy = jest.spyOn(artifacts, 'storedPage').mockImplementationOnce(async (...args) => {
      const rows = await page(...args);
      expect((await purge()).itemsPurged).toBeGreaterThanOrEqual(2);
      return rows;
    });
    try {
      const report = await purgeService.reconcile({ dryRun: false });
      expect(report?.missing).not.toEqual(expect.arrayContaining([ids[0]]));
      expect(report?.missing).not.toEqual(expect.arrayContaining([ids[1]]));
      expect(report?.markedMissing).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(await sql(`SELECT DISTINCT purge_reason FROM artifacts WHERE id = ANY($1)`, [ids])).toEqual([{ purge_reason: 'retention' }]);
  });

  it('a reconcile beside a purge does not take an object the purge deleted meanwhile for an orphan', async () => {
    const c = await chat('cust-reconcile-orphan-beside');
    await attach(c.customer, c.conversationId);
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    const keys = await Promise.all(ids.map(keyOf));
    await expire(ids);
    const artifacts = app.app.get(ArtifactsService);
    const lookup = artifacts.keysWithoutRow.bind(artifacts);
    // The purge runs after the reconciler listed the objects, before it looks their rows up: those rows are tombstones now.
    const spy = jest.spyOn(artifacts, 'keysWithoutRow').mockImplementationOnce(async (batch) => {
      expect((await purge()).itemsPurged).toBeGreaterThanOrEqual(2);
      return lookup(batch);
    });
    try {
      const report = await app.app.get(PurgeService).reconcile({ dryRun: true });
      expect(report?.orphans).not.toEqual(expect.arrayContaining([keys[0]]));
      expect(report?.orphans).not.toEqual(expect.arrayContaining([keys[1]]));
    } finally {
      spy.mockRestore();
    }
  });

  it('a withdrawal while another run holds the lock is purged once the lock is free (it retries)', async () => {
    const c = await chat('cust-purge-retry');
    const id = await diagnostics(c.customer, c.conversationId);
    await withClient(database.url, async (holder) => {
      await holder.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.purge]);
      await request(app.url).put('/me/consents/diagnostics').set(auth(c.customer)).send({ decision: 'withdraw', conversationId: c.conversationId }).expect(200);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await sql(`SELECT state, purge_reason FROM artifacts WHERE id = $1`, [id])).toEqual([{ state: 'stored', purge_reason: 'consent_withdrawn' }]);
      await holder.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.purge]);
    });
    await waitUntil(async () => (await sql(`SELECT state FROM artifacts WHERE id = $1`, [id]))[0].state === 'purged', 'purged once the lock was free');
  });

  it('a delete whose outcome is unknown leaves the row claimed, and the next run settles it by looking', async () => {
    const c = await chat('cust-purge-unknown');
    const id = await attach(c.customer, c.conversationId);
    await expire([id]);
    const appStore = app.app.get<BlobStore>(BLOB_STORE);
    const deleteMany = appStore.deleteMany.bind(appStore);
    // The store deleted the object, but the answer was lost (a timeout, a reset connection).
    const spy = jest.spyOn(appStore, 'deleteMany').mockImplementationOnce(async (keys) => {
      await deleteMany(keys);
      throw new Error('socket hang up');
    });
    try {
      const first = await purge();
      expect(first.failures).toEqual([{ artifactId: id, reason: expect.stringContaining('the next run checks') }]);
    } finally {
      spy.mockRestore();
    }
    // Not put back as `stored`: that row would point at nothing.
    expect(await sql(`SELECT state FROM artifacts WHERE id = $1`, [id])).toEqual([{ state: 'purging' }]);
    const second = await purge();
    expect(second.failures).toEqual([]);
    expect(await sql(`SELECT state, purge_reason FROM artifacts WHERE id = $1`, [id])).toEqual([{ state: 'purged', purge_reason: 'retention' }]);
  });

  it('with the store down: records the failure, changes nothing, and the next run after a restart completes', async () => {
    const c = await chat('cust-purge-down');
    const ids = [await attach(c.customer, c.conversationId), await attach(c.customer, c.conversationId)];
    await expire(ids);
    await s3.stop();
    try {
      const failed = await purge();
      expect(failed.itemsPurged).toBe(0);
      expect(failed.failures.map((f) => f.artifactId).sort()).toEqual([...ids].sort());
      expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE id = ANY($1)`, [ids])).toEqual([{ state: 'stored' }]);
    } finally {
      await s3.restart();
    }
    const done = await purge();
    expect(done.itemsPurged).toBe(2);
    expect(await sql(`SELECT DISTINCT state FROM artifacts WHERE id = ANY($1)`, [ids])).toEqual([{ state: 'purged' }]);
  });
});
