import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { ArtifactsService } from '../../src/artifacts/artifacts.service';
import { AppConfig } from '../../src/config/app-config';
import type { BlobStore } from '../../src/storage/blob-store';
import { createBlobStore } from '../../src/storage/storage.module';
import { ChatClient } from '../support/chat-client';
import { withClient } from '../support/postgres-server';
import { startS3Server, type TestS3Server } from '../support/s3-server';
import { createTestApp, type TestApp } from '../support/test-app';
import { waitUntil } from '../support/wait-until';

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2000)]);
const EXE = Buffer.concat([Buffer.from('4d5a90000300000004000000ffff0000', 'hex'), randomBytes(4000)]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A multipart/form-data body with one file part. */
function multipart(field: string, fileName: string, content: Buffer, claimedType = 'image/png'): { body: Buffer; type: string } {
  const boundary = `----sd${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${fileName}"\r\nContent-Type: ${claimedType}\r\n\r\n`,
  );
  return { body: Buffer.concat([head, content, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

/** Sends a body chunked (no Content-Length), as a client streaming an upload of unknown size. */
function sendChunked(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as { code?: string } }));
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
    req.end();
  });
}

describe.each([['filesystem'], ['S3 (s3rver over HTTP)']])('captured data through one door: %s', (driver) => {
  let s3: TestS3Server | undefined;
  let app: TestApp;
  let store: BlobStore;
  let agentToken: string;
  const sql = async <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await withClient(app.database.url, (c) => c.query<T>(text, params))).rows;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  const objects = async (prefix = '') => {
    const keys: string[] = [];
    for await (const entry of store.list(prefix)) keys.push(entry.key);
    return keys;
  };

  beforeAll(async () => {
    s3 = driver.startsWith('S3') ? await startS3Server() : undefined;
    app = await createTestApp({ env: { ...(s3?.env ?? {}), ATTACHMENT_MAX_MB: '1', DIAGNOSTICS_MAX_MB: '1' } });
    // The test's own view of the store: the same bucket or directory, not the service's object.
    store = createBlobStore(AppConfig.fromEnv({ NODE_ENV: 'test', DATA_DIR: app.dataDir, ...(s3?.env ?? {}) }));
    agentToken = await app.token('agent', 'agent-capture');
  });
  afterAll(async () => {
    await app?.close();
    await s3?.dispose();
  });

  async function chat(subject: string) {
    const customerToken = await app.token('customer', subject);
    const conversation = (await request(app.url).post('/conversations').set(auth(customerToken)).expect(201)).body as { id: string; customerId: string };
    await request(app.url).post(`/conversations/${conversation.id}/assign`).set(auth(agentToken)).send({}).expect(200);
    return { customerToken, conversationId: conversation.id, customerId: conversation.customerId };
  }

  const attach = (token: string, conversationId: string, fileName: string, content: Buffer, claimedType?: string) => {
    const { body, type } = multipart('file', fileName, content, claimedType);
    return request(app.url).post(`/conversations/${conversationId}/attachments`).set(auth(token)).set('content-type', type).send(body);
  };

  describe('chat attachments (purpose support)', () => {
    it('stores the file with its purpose, basis and retention, the type read from the bytes', async () => {
      const c = await chat('cust-attach');
      const res = await attach(c.customerToken, c.conversationId, '../../etc/Factuur <maart>.txt', PDF, 'image/png').expect(201);
      expect(res.body).toMatchObject({
        kind: 'attachment',
        conversationId: c.conversationId,
        customerId: c.customerId,
        purpose: 'support',
        legalBasis: 'contract',
        consentEventId: null,
        retentionTag: 'support_chat',
        state: 'stored',
        size: PDF.length,
        sha256: sha256(PDF),
        contentType: 'application/pdf',
        fileName: 'Factuur _maart_.txt',
        capturedBy: { kind: 'customer', id: c.customerId },
      });
      // Open conversation: the 12 months count from now until the close moves them.
      const months = (Date.parse(res.body.retainUntil) - Date.parse(res.body.capturedAt)) / 86_400_000;
      expect(months).toBeGreaterThanOrEqual(365);
      expect(months).toBeLessThanOrEqual(366);
      const [row] = await sql(`SELECT state, storage_key FROM artifacts WHERE id = $1`, [res.body.id]);
      expect(row.state).toBe('stored');
      const head = await store.head(row.storage_key as string);
      expect(head).toMatchObject({ size: PDF.length, contentType: 'application/pdf' });
      expect(head!.metadata).toMatchObject({ 'artifact-id': res.body.id, purpose: 'support', 'legal-basis': 'contract', 'retention-tag': 'support_chat', 'retain-until': res.body.retainUntil });
    });

    it('lets the agent handling it attach, and nobody else', async () => {
      const c = await chat('cust-agent-attach');
      await attach(agentToken, c.conversationId, 'log.txt', Buffer.from('line one\nline two\n')).expect(201);
      const other = await app.token('agent', 'agent-not-handling');
      const before = await objects('support/');
      await attach(other, c.conversationId, 'log.txt', Buffer.from('x')).expect(404);
      const stranger = await app.token('customer', 'cust-stranger');
      await attach(stranger, c.conversationId, 'log.txt', Buffer.from('x')).expect(404);
      expect(await objects('support/')).toEqual(before);
    });

    it('refuses an oversized upload (413) and leaves nothing, whether its size is declared or streamed', async () => {
      const c = await chat('cust-big');
      const rowsBefore = await sql(`SELECT count(*)::int AS n FROM artifacts`);
      const objectsBefore = await objects();
      // Declared well over the limit: refused before a byte is read.
      const declared = await attach(c.customerToken, c.conversationId, 'big.dat', randomBytes(1300 * 1024)).expect(413);
      expect(declared.body.code).toBe('PAYLOAD_TOO_LARGE');
      // One byte over, declared within the multipart allowance: refused while streaming.
      const overByOne = await attach(c.customerToken, c.conversationId, 'big.dat', randomBytes(1024 * 1024 + 1)).expect(413);
      expect(overByOne.body.code).toBe('PAYLOAD_TOO_LARGE');
      // Streamed without a length.
      const { body, type } = multipart('file', 'big.dat', randomBytes(3 * 1024 * 1024));
      const streamed = await sendChunked(`${app.url}/conversations/${c.conversationId}/attachments`, { ...auth(c.customerToken), 'content-type': type }, body);
      expect(streamed).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts`)).toEqual(rowsBefore);
      expect(await objects()).toEqual(objectsBefore);
      // Exactly the limit is fine.
      await attach(c.customerToken, c.conversationId, 'max.dat', randomBytes(1024 * 1024)).expect(201);
    });

    it('refuses programs and scripts, whatever they are called', async () => {
      const c = await chat('cust-exe');
      const before = await sql(`SELECT count(*)::int AS n FROM artifacts`);
      expect((await attach(c.customerToken, c.conversationId, 'invoice.pdf', EXE).expect(415)).body.code).toBe('BLOCKED_FILE_TYPE');
      await attach(c.customerToken, c.conversationId, 'run.bat', Buffer.from('@echo off\r\n')).expect(415);
      await attach(c.customerToken, c.conversationId, 'notes', Buffer.from('#!/bin/sh\nrm -rf /\n')).expect(415);
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts`)).toEqual(before);
    });

    it('keeps a file name in any script as it was written', async () => {
      const c = await chat('cust-unicode');
      const res = await attach(c.customerToken, c.conversationId, 'Factuur één – ĳs 📎.txt', Buffer.from('inhoud\n')).expect(201);
      expect(res.body.fileName).toBe('Factuur één – ĳs 📎.txt');
    });

    it('answers a request without a file, or not multipart, with a clear error', async () => {
      const c = await chat('cust-nofile');
      const { body, type } = multipart('other', 'a.txt', Buffer.from('x'));
      expect((await request(app.url).post(`/conversations/${c.conversationId}/attachments`).set(auth(c.customerToken)).set('content-type', type).send(body).expect(400)).body.code).toBe(
        'VALIDATION_FAILED',
      );
      await request(app.url).post(`/conversations/${c.conversationId}/attachments`).set(auth(c.customerToken)).send({ file: 'x' }).expect(415);
    });
  });

  if (driver.startsWith('S3')) {
    it('a store that fails mid-upload leaves no pending row behind after cleanup, and no object', async () => {
      const c = await chat('cust-s3-down');
      const { body, type } = multipart('file', 'half.dat', randomBytes(600 * 1024));
      const pendingBefore = await sql(`SELECT count(*)::int AS n FROM artifacts WHERE state = 'pending'`);
      const response = new Promise<{ status: number; code?: string }>((resolve, reject) => {
        const req = httpRequest(
          `${app.url}/conversations/${c.conversationId}/attachments`,
          { method: 'POST', headers: { ...auth(c.customerToken), 'content-type': type, 'transfer-encoding': 'chunked' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code }));
          },
        );
        req.on('error', reject);
        req.write(body.subarray(0, 300 * 1024));
        // The row is written once the first bytes are inspected; then the store goes away.
        void (async () => {
          const deadline = Date.now() + 10_000;
          while ((await sql<{ n: number }>(`SELECT count(*)::int AS n FROM artifacts WHERE state = 'pending' AND conversation_id = $1`, [c.conversationId]))[0].n === 0) {
            if (Date.now() > deadline) return reject(new Error('no pending row'));
            await new Promise((r) => setTimeout(r, 20));
          }
          await s3!.stop();
          req.end(body.subarray(300 * 1024));
        })();
      });
      const answer = await response;
      expect(answer.status).toBe(503);
      expect(answer.code).toBe('BLOB_STORE_UNAVAILABLE');
      // The store could not confirm the object is gone, so the row waits for cleanup.
      expect(await sql(`SELECT state FROM artifacts WHERE conversation_id = $1`, [c.conversationId])).toEqual([{ state: 'pending' }]);
      await s3!.restart();
      const cleaned = await app.app.get(ArtifactsService).cleanupStalePending(0);
      expect(cleaned).toEqual({ removed: 1, kept: 0 });
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts WHERE state = 'pending'`)).toEqual(pendingBefore);
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts WHERE conversation_id = $1`, [c.conversationId])).toEqual([{ n: 0 }]);
      const keys = new Set(await objects('support/'));
      const rows = await sql<{ storage_key: string }>(`SELECT storage_key FROM artifacts WHERE purpose = 'support'`);
      expect([...keys].sort()).toEqual(rows.map((r) => r.storage_key).sort());
    });
  }

  describe('diagnostics bundles (R3.2)', () => {
    async function grantDiagnostics(customerToken: string, conversationId: string): Promise<{ token: string; eventId: string }> {
      const customer = await ChatClient.connect(app.url, customerToken);
      try {
        const asked = await request(app.url).post(`/conversations/${conversationId}/consent-requests`).set(auth(agentToken)).send({ purposes: ['diagnostics'] }).expect(201);
        const prompt = asked.body.prompts[0] as { requestId: string; textHash: string };
        const answer = await customer.call<{ ledgerEvent: { id: string }; uploadToken: { token: string } }>('consent.answer', {
          requestId: prompt.requestId,
          decision: 'grant',
          textHash: prompt.textHash,
        });
        return { token: answer.uploadToken.token, eventId: answer.ledgerEvent.id };
      } finally {
        customer.close();
      }
    }
    const upload = (conversationId: string, content: Buffer, token?: string) => {
      const req = request(app.url).post(`/conversations/${conversationId}/diagnostics`).set('content-type', 'application/zip').set('x-file-name', encodeURIComponent('diag 2026.zip'));
      return (token ? req.set('x-upload-token', token) : req).send(content);
    };
    const zip = Buffer.concat([Buffer.from('504b030414000000', 'hex'), randomBytes(50_000)]);

    it('without consent: refused, no row and no object', async () => {
      const c = await chat('cust-diag-none');
      expect((await upload(c.conversationId, zip).expect(403)).body.code).toBe('UPLOAD_TOKEN_INVALID');
      await upload(c.conversationId, zip, `sdu_${randomBytes(32).toString('base64url')}`).expect(403);
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts WHERE purpose = 'diagnostics' AND conversation_id = $1`, [c.conversationId])).toEqual([{ n: 0 }]);
      expect(await objects('diagnostics/')).toHaveLength((await sql(`SELECT 1 FROM artifacts WHERE purpose = 'diagnostics'`)).length);
    });

    it('refuses an oversized or blocked bundle with its error (not a reset), stores nothing, and the token still works after', async () => {
      const c = await chat('cust-diag-refused');
      const { token } = await grantDiagnostics(c.customerToken, c.conversationId);
      const before = { rows: await sql(`SELECT count(*)::int AS n FROM artifacts`), objects: await objects() };
      const streamed = await sendChunked(`${app.url}/conversations/${c.conversationId}/diagnostics`, { 'x-upload-token': token, 'content-type': 'application/zip' }, Buffer.concat([zip, randomBytes(3 * 1024 * 1024)]));
      expect(streamed).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
      expect((await upload(c.conversationId, randomBytes(2 * 1024 * 1024), token).expect(413)).body.code).toBe('PAYLOAD_TOO_LARGE');
      const exe = await sendChunked(`${app.url}/conversations/${c.conversationId}/diagnostics`, { 'x-upload-token': token, 'content-type': 'application/zip' }, Buffer.concat([EXE, randomBytes(900 * 1024)]));
      expect(exe).toMatchObject({ status: 415, body: { code: 'BLOCKED_FILE_TYPE' } });
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts`)).toEqual(before.rows);
      expect(await objects()).toEqual(before.objects);
      // Used up only by a stored bundle.
      await upload(c.conversationId, zip, token).expect(201);
      await upload(c.conversationId, zip, token).expect(403);
    });

    it('refuses a bundle whose consent is withdrawn while it arrives, keeping nothing', async () => {
      const c = await chat('cust-diag-withdraw');
      const { token } = await grantDiagnostics(c.customerToken, c.conversationId);
      const body = Buffer.concat([zip, randomBytes(600 * 1024)]);
      const answer = new Promise<{ status: number; code?: string }>((resolve, reject) => {
        const req = httpRequest(
          `${app.url}/conversations/${c.conversationId}/diagnostics`,
          { method: 'POST', headers: { 'x-upload-token': token, 'content-type': 'application/zip', 'transfer-encoding': 'chunked' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(Buffer.concat(chunks).toString()) as { code?: string }).code }));
          },
        );
        req.on('error', reject);
        req.write(body.subarray(0, 200 * 1024));
        void (async () => {
          const deadline = Date.now() + 10_000;
          while ((await sql(`SELECT 1 FROM artifacts WHERE conversation_id = $1 AND state = 'pending'`, [c.conversationId])).length === 0) {
            if (Date.now() > deadline) return reject(new Error('no pending row'));
            await new Promise((r) => setTimeout(r, 20));
          }
          await request(app.url).put('/me/consents/diagnostics').set(auth(c.customerToken)).send({ decision: 'withdraw' }).expect(200);
          req.end(body.subarray(200 * 1024));
        })();
      });
      expect(await answer).toEqual({ status: 403, code: 'CONSENT_REQUIRED' });
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts WHERE conversation_id = $1`, [c.conversationId])).toEqual([{ n: 0 }]);
      const keys = await objects('diagnostics/');
      const rows = await sql<{ storage_key: string }>(`SELECT storage_key FROM artifacts WHERE purpose = 'diagnostics'`);
      expect(keys.sort()).toEqual(rows.map((r) => r.storage_key).sort());
    });

    it('with the grant’s token: stored once under consent; a second use or another conversation is refused', async () => {
      const c = await chat('cust-diag');
      const other = await chat('cust-diag-other');
      const { token, eventId } = await grantDiagnostics(c.customerToken, c.conversationId);
      await upload(other.conversationId, zip, token).expect(403);
      const res = await upload(c.conversationId, zip, token).expect(201);
      expect(res.body).toMatchObject({
        kind: 'diagnostics_bundle',
        purpose: 'diagnostics',
        legalBasis: 'consent',
        consentEventId: eventId,
        retentionTag: 'diagnostics',
        contentType: 'application/zip',
        fileName: 'diag 2026.zip',
        size: zip.length,
        capturedBy: { kind: 'customer', id: c.customerId },
      });
      const days = (Date.parse(res.body.retainUntil) - Date.parse(res.body.capturedAt)) / 86_400_000;
      expect(days).toBe(30);
      expect((await upload(c.conversationId, zip, token).expect(403)).body.code).toBe('UPLOAD_TOKEN_INVALID');
      // A token that was issued, used again, is in the audit trail (a made-up one is only a log line).
      expect(await sql(`SELECT outcome, details->>'code' AS code FROM audit_events WHERE action = 'artifact.capture' AND details ? 'uploadTokenId' AND target_id = $1`, [c.conversationId])).toEqual([
        { outcome: 'refused', code: 'UPLOAD_TOKEN_INVALID' },
      ]);
      expect(await sql(`SELECT count(*)::int AS n FROM artifacts WHERE conversation_id = ANY($1)`, [[c.conversationId, other.conversationId]])).toEqual([{ n: 1 }]);
      const [row] = await sql(`SELECT storage_key FROM artifacts WHERE id = $1`, [res.body.id]);
      const { body } = await store.get(row.storage_key as string);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(zip));
    });
  });

  describe('chat transcripts at close', () => {
    const until = (check: () => Promise<boolean>) => waitUntil(check, 'transcripts written');
    const send = (token: string, conversationId: string, n: number, body: string) =>
      request(app.url).post(`/conversations/${conversationId}/messages`).set(auth(token)).send({ clientMessageId: `m-${n}`, body }).expect(201);

    it('keeps JSON and text for support; a quality copy only with chat_recording consent; retention from the close', async () => {
      const plain = await chat('cust-transcript');
      await send(plain.customerToken, plain.conversationId, 1, 'Mijn factuur klopt niet');
      await send(agentToken, plain.conversationId, 2, 'Ik kijk het na.\nEen moment.');
      const attached = (await attach(plain.customerToken, plain.conversationId, 'factuur.pdf', PDF).expect(201)).body as { id: string };
      const closed = (await request(app.url).post(`/conversations/${plain.conversationId}/close`).set(auth(plain.customerToken)).expect(200)).body as { closedAt: string };
      await until(async () => (await sql(`SELECT 1 FROM artifacts WHERE conversation_id = $1 AND state = 'stored'`, [plain.conversationId])).length === 3);
      const rows = await sql<{ purpose: string; kind: string; attributes: { format: string }; retain_until: Date; storage_key: string; content_type: string }>(
        `SELECT purpose, kind, attributes, retain_until, storage_key, content_type FROM artifacts WHERE conversation_id = $1 AND kind = 'chat_transcript' ORDER BY attributes->>'format'`,
        [plain.conversationId],
      );
      expect(rows.map((r) => [r.purpose, r.kind, r.attributes.format])).toEqual([
        ['support', 'chat_transcript', 'json'],
        ['support', 'chat_transcript', 'text'],
      ]);
      // support_chat: 12 months from the close.
      const expected = new Date(closed.closedAt);
      expected.setUTCMonth(expected.getUTCMonth() + 12);
      expect(Math.abs(rows[0].retain_until.getTime() - expected.getTime())).toBeLessThan(3 * 3_600_000);
      // The attachment sent before the close now counts from the close too.
      await until(async () => {
        const [a] = await sql<{ exact: boolean }>(
          `SELECT a.retain_until = c.closed_at + interval 'P12M' AS exact FROM artifacts a JOIN conversations c ON c.id = a.conversation_id WHERE a.id = $1`,
          [attached.id],
        );
        return a.exact;
      });
      const { body } = await store.get(rows[0].storage_key);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const transcript = JSON.parse(Buffer.concat(chunks).toString()) as { conversationId: string; messages: Array<{ seq: number; body: string }> };
      expect(transcript.conversationId).toBe(plain.conversationId);
      expect(transcript.messages.map((m) => [m.seq, m.body])).toEqual([
        [1, 'Mijn factuur klopt niet'],
        [2, 'Ik kijk het na.\nEen moment.'],
      ]);

      const recorded = await chat('cust-transcript-quality');
      const customer = await ChatClient.connect(app.url, recorded.customerToken);
      try {
        const asked = await request(app.url).post(`/conversations/${recorded.conversationId}/consent-requests`).set(auth(agentToken)).send({ purposes: ['chat_recording'] }).expect(201);
        const prompt = asked.body.prompts[0] as { requestId: string; textHash: string };
        const grant = await customer.call<{ ledgerEvent: { id: string } }>('consent.answer', { requestId: prompt.requestId, decision: 'grant', textHash: prompt.textHash });
        await send(recorded.customerToken, recorded.conversationId, 1, 'Hallo');
        await request(app.url).post(`/conversations/${recorded.conversationId}/close`).set(auth(recorded.customerToken)).expect(200);
        await until(async () => (await sql(`SELECT 1 FROM artifacts WHERE conversation_id = $1 AND state = 'stored'`, [recorded.conversationId])).length === 3);
        const [copy] = await sql(`SELECT legal_basis, consent_event_id, retention_tag FROM artifacts WHERE conversation_id = $1 AND purpose = 'chat_recording'`, [recorded.conversationId]);
        expect(copy).toEqual({ legal_basis: 'consent', consent_event_id: grant.ledgerEvent.id, retention_tag: 'quality_review' });
      } finally {
        customer.close();
      }
    });
  });

  describe('reads state a purpose (R1.3), and are audited', () => {
    it('serves the bytes for the artifact’s own purpose only, to those who may read them', async () => {
      const c = await chat('cust-read');
      const stored = (await attach(c.customerToken, c.conversationId, 'scan.pdf', PDF).expect(201)).body as { id: string };
      const content = await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support`).set(auth(c.customerToken)).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      expect(content.status).toBe(200);
      expect(content.headers['content-type']).toBe('application/pdf');
      expect(content.headers['content-disposition']).toBe(`attachment; filename*=UTF-8''scan.pdf`);
      expect(sha256(content.body as Buffer)).toBe(sha256(PDF));

      const wrong = await request(app.url).get(`/artifacts/${stored.id}/content?purpose=customer_profile`).set(auth(c.customerToken)).expect(403);
      expect(wrong.body.code).toBe('PURPOSE_MISMATCH');
      await request(app.url).get(`/artifacts/${stored.id}/content`).set(auth(c.customerToken)).expect(400);
      await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support`).set(auth(agentToken)).expect(200);
      await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support`).set(auth(await app.token('agent', 'agent-other-read'))).expect(404);
      await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support`).set(auth(await app.token('customer', 'cust-other-read'))).expect(404);

      const officer = await app.token('privacy_officer', 'officer-read');
      expect((await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support`).set(auth(officer)).expect(400)).body.code).toBe('REASON_REQUIRED');
      await request(app.url).get(`/artifacts/${stored.id}/content?purpose=support&reason=${encodeURIComponent('Access request R6.2')}`).set(auth(officer)).expect(200);

      const listed = await request(app.url).get(`/conversations/${c.conversationId}/artifacts?purpose=support`).set(auth(c.customerToken)).expect(200);
      expect(listed.body.map((a: { id: string }) => a.id)).toEqual([stored.id]);
      expect((await request(app.url).get(`/conversations/${c.conversationId}/artifacts?purpose=diagnostics`).set(auth(c.customerToken)).expect(200)).body).toEqual([]);

      const trail = await sql(`SELECT action, outcome, purpose, reason, actor_role, details FROM audit_events WHERE target_id = $1 ORDER BY seq`, [stored.id]);
      expect(trail).toEqual([
        expect.objectContaining({ action: 'artifact.capture', outcome: 'allowed', purpose: 'support', actor_role: 'customer' }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'allowed', purpose: 'support', actor_role: 'customer' }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'refused', purpose: 'customer_profile', details: { code: 'PURPOSE_MISMATCH' } }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'allowed', actor_role: 'agent' }),
        // Strangers are told it does not exist, and the attempt is kept.
        expect.objectContaining({ action: 'artifact.read', outcome: 'refused', actor_role: 'agent', details: { code: 'ARTIFACT_NOT_FOUND' } }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'refused', actor_role: 'customer', details: { code: 'ARTIFACT_NOT_FOUND' } }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'refused', actor_role: 'privacy_officer', details: { code: 'REASON_REQUIRED' } }),
        expect.objectContaining({ action: 'artifact.read', outcome: 'allowed', actor_role: 'privacy_officer', reason: 'Access request R6.2' }),
      ]);
    });
  });

  describe('the audit trail', () => {
    it('is append-only, and verification finds the first link someone changed', async () => {
      const officer = await app.token('privacy_officer', 'officer-audit');
      const ok = await request(app.url).get('/audit/verify').set(auth(officer)).expect(200);
      expect(ok.body).toMatchObject({ ok: true, firstBroken: null });
      expect(ok.body.checked).toBeGreaterThan(5);
      await request(app.url).get('/audit/verify').set(auth(agentToken)).expect(403);

      const [victim] = await sql<{ id: string; seq: string }>(`SELECT id, seq FROM audit_events ORDER BY seq OFFSET 2 LIMIT 1`);
      await expect(sql(`UPDATE audit_events SET purpose = 'diagnostics' WHERE id = $1`, [victim.id])).rejects.toThrow(/append-only/);
      await expect(sql(`DELETE FROM audit_events WHERE id = $1`, [victim.id])).rejects.toThrow(/append-only/);
      // Someone with the database owner's rights goes around the trigger.
      await withClient(app.database.url, async (c) => {
        await c.query(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`);
        await c.query(`UPDATE audit_events SET reason = 'nothing to see' WHERE id = $1`, [victim.id]);
        await c.query(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
      });
      const broken = await request(app.url).get('/audit/verify').set(auth(officer)).expect(200);
      expect(broken.body).toMatchObject({ ok: false, firstBroken: { seq: Number(victim.seq), id: victim.id, problem: 'hash' } });
    });
  });
});
