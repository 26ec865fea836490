import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { io, type Socket } from 'socket.io-client';
import { AppConfig } from '../../src/config/app-config';
import { TokenService } from '../../src/identity/token.service';
import type { Role } from '../../src/identity/principal';
import { signTelephonyRequest } from '../../src/telephony/telephony-signature';
import { ChatClient } from '../support/chat-client';
import { RAISED_LIMITS } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { ENV, freePort, makeTempDir, quoteIdent, withClient } from '../support/postgres-server';
import { startS3Server, type TestS3Server } from '../support/s3-server';
import { startService, waitFor, type ServiceProcess } from '../support/service-process';

/**
 * R5.1, design invariant 7, as a deployment sees it: everything the real
 * service process writes (stdout and stderr, not only the logger's stream) at
 * LOG_LEVEL=trace, after personal data was planted in every place a client
 * controls, raw and encoded, and through failures of every status.
 */

const JWT_SECRET = 'process-output-secret-process-output-secret';
const TELEPHONY_SECRET = 'process-output-telephony-secret-telephony';

/** The personal values planted; each is also searched for in its encoded forms. */
const PII = {
  email: 'j.devries+factuur@bakkerij-devries.nl',
  mobileIntl: '+31 6 2345 6789',
  mobileTrunk: '+31 (0)6-3456 7890',
  mobile0031: '0031687654321',
  mobileSpaced: '06 41 52 63 74',
  mobileDashed: '06-19283746',
  landlineParens: '(020) 555 12 34',
  landlineDash: '020-5557788',
  landlineIntl: '+31 20 555 4321',
  business088: '088 246 8135',
  iban: 'NL91 ABNA 0417 1643 00',
  ibanForeign: 'DE89370400440532013000',
  bsn: '123456782',
  bsnDotted: '1112.22.333',
  postcode: '3511 LX 42',
  postcodeLower: '9712 cp',
  kvk: '69599084',
  ipv4: '203.0.113.77',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  name: 'Geertruida Oldenbarnevelt',
  text: 'mijn administratie bij Zuiderzeebakkerij loopt vast',
} as const;
type PiiName = keyof typeof PII;

/** Words of the free text and the name that no pattern could catch: only construction keeps them out. */
const DISTINCT_WORDS = ['Geertruida', 'Oldenbarnevelt', 'Zuiderzeebakkerij', 'bakkerij-devries'];

/** Mixed spacing: tabs, doubled and non-breaking spaces where a value has a space. */
const mixed = (v: string) => v.replace(/ /g, (_s, i: number) => [' \t', '  ', '\u00a0'][i % 3]);
const plus = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');

/** Every form a value is planted in. */
function forms(v: string): string[] {
  return [...new Set([v, encodeURIComponent(v), plus(v), mixed(v), encodeURIComponent(mixed(v)), encodeURIComponent(encodeURIComponent(v))])];
}

/** Every way a value could show up in the output (JSON-escaped, compacted). */
function needles(v: string): string[] {
  const out = new Set<string>();
  for (const f of forms(v)) {
    out.add(f);
    out.add(JSON.stringify(f).slice(1, -1));
  }
  const compact = v.replace(/[^0-9A-Za-z@]/g, '');
  if (compact.length >= 8) out.add(compact);
  // Digits-only phone forms after the country code: +31 6 2345 6789 -> 623456789.
  const digits = v.replace(/\D/g, '');
  if (digits.length >= 9 && /^(\+|00|\(?0)/.test(v)) out.add(digits.replace(/^(0031|31|0)/, '').replace(/^0/, ''));
  return [...out].filter((n) => n.length >= 6);
}

interface RawResponse {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

describe('the service process writes no personal data, whatever a client sends (R5.1)', () => {
  jest.setTimeout(180_000);
  let database: TestDatabase;
  let s3: TestS3Server;
  let dataDir: string;
  let service: ServiceProcess;
  let base: string;
  let port: number;
  let tokens: TokenService;
  let output = '';
  const statuses: Record<string, number> = {};
  const token = (role: Role, subject: string, extra: { locale?: string } = {}) => tokens.mint({ subject, roles: [role], ...extra });

  /** HTTP exactly as given: the path is not normalised or re-encoded. */
  function raw(method: string, path: string, options: { headers?: Record<string, string | string[]>; body?: Buffer | string } = {}): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: options.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve({ status: 0, text: '', headers: {} }) : reject(err)));
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  }
  const json = (value: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(value) });
  async function call(label: string, method: string, path: string, options: { token?: string; headers?: Record<string, string | string[]>; json?: unknown; body?: Buffer | string; type?: string } = {}) {
    const headers: Record<string, string | string[]> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body = options.body;
    if (options.json !== undefined) {
      const j = json(options.json);
      headers['content-type'] = j['content-type'];
      body = j.body;
    }
    if (options.type) headers['content-type'] = options.type;
    const res = await raw(method, path, { headers, body });
    statuses[label] = res.status;
    return res;
  }

  /** Headers a client controls, each carrying personal data. */
  const piiHeaders = (i: number): Record<string, string | string[]> => {
    const values = Object.values(PII);
    const pick = (k: number) => encodeURIComponent(values[(i + k) % values.length]);
    return {
      'x-forwarded-for': `${PII.ipv4}, ${PII.ipv6}`,
      'x-real-ip': PII.ipv4,
      forwarded: `for="[${PII.ipv6}]";by=${PII.ipv4}`,
      'user-agent': `Mozilla/5.0 (${pick(0)}) ${pick(1)}`,
      referer: `https://portal.example/klant/${encodeURIComponent(PII.email)}?iban=${plus(PII.iban)}`,
      'accept-language': `nl-NL;q=0.9, ${pick(2)}`,
      cookie: `email=${encodeURIComponent(PII.email)}; phone=${plus(PII.mobileIntl)}`,
      'x-customer-name': encodeURIComponent(PII.name),
      // Some of these fit a lax id format ([A-Za-z0-9._-]{8,128}): only a UUID may be kept.
      'x-request-id': [PII.email, PII.bsn, PII.ibanForeign, 'Geertruida.Oldenbarnevelt', PII.kvk, plus(PII.mobileSpaced)][i % 6],
      'x-correlation-id': PII.bsn,
      from: PII.email,
    };
  };

  /** A multipart/form-data body: the file part plus extra fields, every name chosen by the client. */
  function multipart(parts: Array<{ name: string; fileName?: string; content: Buffer | string; type?: string }>): { body: Buffer; type: string } {
    const boundary = `----sd${randomBytes(8).toString('hex')}`;
    const chunks: Buffer[] = [];
    for (const p of parts) {
      const disposition = `form-data; name="${p.name}"${p.fileName !== undefined ? `; filename="${p.fileName}"; filename*=UTF-8''${encodeURIComponent(p.fileName)}` : ''}`;
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${p.type ?? 'text/plain'}\r\n\r\n`), Buffer.from(p.content), Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
  }

  function connect(authToken: string, extra: { auth?: Record<string, unknown>; query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Socket> {
    const socket = io(`${base}/chat`, {
      auth: { token: authToken, ...extra.auth },
      query: extra.query,
      extraHeaders: extra.headers,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    return new Promise((resolve) => {
      const done = () => resolve(socket);
      socket.once('ready', done);
      socket.once('connect_error', done);
      setTimeout(done, 5000);
    });
  }
  const emit = (socket: Socket, event: string, payload: unknown) =>
    socket.timeout(5000).emitWithAck(event, payload).catch(() => undefined) as Promise<Record<string, unknown> | undefined>;

  function signed(body: string, timestamp = Math.floor(Date.now() / 1000)) {
    return { 'content-type': 'application/json', 'x-telephony-timestamp': String(timestamp), 'x-telephony-signature': signTelephonyRequest(TELEPHONY_SECRET, timestamp, body) };
  }
  const telephonyEvent = (type: string, call: object, extra: object = {}) => ({ id: `evt-${randomUUID()}`, type, occurredAt: new Date().toISOString(), call, ...extra });

  beforeAll(async () => {
    s3 = await startS3Server();
    database = await createTestDatabase();
    dataDir = await makeTempDir('support-desk-output');
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      LOG_LEVEL: 'trace',
      JWT_SECRET,
      TELEPHONY_WEBHOOK_SECRET: TELEPHONY_SECRET,
      ATTACHMENT_MAX_MB: '1',
      // One address sends every request here; the limits are tested in test/abuse.
      ...RAISED_LIMITS,
      // Blobs through the AWS SDK, and every library's debug output on: both must reach stdout through the logger only.
      ...s3.env,
      DEBUG: '*',
    };
    tokens = new TokenService(AppConfig.fromEnv(env));
    service = startService(env);
    await waitFor(`${base}/health/ready`, service);
    await seed();
    expect(await service.stop('SIGTERM')).toBe(0);
    output = `${service.stdout()}\n${service.stderr()}`;
    // PROCESS_OUTPUT_FILE=<path> keeps what the process wrote, to see where a value leaked.
    if (process.env.PROCESS_OUTPUT_FILE) writeFileSync(process.env.PROCESS_OUTPUT_FILE, `${JSON.stringify(statuses, null, 1)}\n${output}`);
  });
  afterAll(async () => {
    await service?.stop('SIGKILL');
    await database?.drop();
    await s3?.dispose();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function seed(): Promise<void> {
    const values = Object.entries(PII) as Array<[PiiName, string]>;
    const customerSubject = `cust-${randomUUID()}`;
    const customer = await token('customer', customerSubject, { locale: 'nl-NL' });
    const agent = await token('agent', 'agent-output');
    const officer = await token('privacy_officer', 'officer-output');
    const admin = await token('admin', 'admin-output');

    // Chat: a customer opens one, an agent takes it; the sockets carry personal data at the handshake.
    const customerSocket = await connect(customer, {
      auth: { locale: PII.email, name: PII.name, phone: PII.mobileIntl },
      query: { email: PII.email, iban: PII.iban, phone: mixed(PII.mobileSpaced) },
      headers: { 'x-forwarded-for': PII.ipv4, 'user-agent': `app (${PII.email}; ${PII.mobileTrunk})` },
    });
    const agentClient = await ChatClient.connect(base, agent);
    const opened = await emit(customerSocket, 'conversation.open', { subject: PII.text, email: PII.email });
    const conversationId = (opened?.conversation as { id: string } | undefined)?.id ?? randomUUID();
    await agentClient.call('conversation.take', { conversationId }).catch(() => undefined);

    // Values no database column takes (a NUL byte), before the rate limit could refuse them.
    const nulLocale = await connect(customer, { auth: { locale: `nl-NL\u0000${PII.email} ${PII.name} ${PII.iban}` } });
    await emit(customerSocket, 'message.send', { conversationId, clientMessageId: randomUUID(), body: `${PII.email}\u0000${PII.iban} ${PII.name}` });
    const nul = JSON.stringify(telephonyEvent('call.started', { id: `call-${randomUUID()}`, direction: 'inbound', from: PII.mobileIntl, queue: `q\u0000${PII.email} ${PII.name}` }));
    await call('telephony NUL', 'POST', '/telephony/events', { headers: signed(nul), body: nul });

    // Every event payload, valid and not.
    for (const [i, [name, v]] of values.entries()) {
      for (const f of forms(v)) {
        await emit(customerSocket, 'message.send', { conversationId, clientMessageId: randomUUID(), body: `${PII.text} ${name}: ${f}` });
      }
      await emit(customerSocket, 'message.send', { conversationId: v, clientMessageId: v, body: v, [v]: v });
      await emit(customerSocket, 'conversation.join', { conversationId: i % 2 ? v : encodeURIComponent(v), afterSeq: v });
      await emit(customerSocket, 'consent.answer', { requestId: v, decision: v, textHash: encodeURIComponent(v) });
      await emit(customerSocket, 'consent.withdraw', { conversationId, purpose: plus(v) });
      await emit(customerSocket, 'consent.list', { conversationId: v });
      await emit(agentClient.socket, 'consent.request', { conversationId, purposes: [v, encodeURIComponent(v)] });
      await emit(agentClient.socket, 'conversation.take', { conversationId: v });
      await emit(agentClient.socket, 'queue.list', { filter: v });
      // Events nobody handles get no acknowledgement.
      customerSocket.emit(v, { v });
      customerSocket.emit(encodeURIComponent(v), v, plus(v));
    }
    await emit(customerSocket, 'message.send', { conversationId, clientMessageId: `${PII.email}-${'x'.repeat(300)}`, body: PII.text });
    await emit(customerSocket, 'message.send', { conversationId, clientMessageId: randomUUID(), body: `${PII.name} ${'y'.repeat(70_000)}` });
    // A socket whose token carries personal data is refused at the handshake.
    const refused = await connect(`${PII.email}.${encodeURIComponent(PII.iban)}.x`, { auth: { locale: PII.bsn } });
    refused.close();

    // REST, on every route kind: path, query, headers, body fields, unknown fields.
    for (const [i, [name, v]] of values.entries()) {
      const e = encodeURIComponent(v);
      const p = plus(v);
      const q = `?email=${e}&q=${p}&${e}=${p}&raw=${v.replace(/[ #&]/g, '+')}&note=${encodeURIComponent(mixed(v))}`;
      const h = piiHeaders(i);
      await call(`GET unknown route ${name}`, 'GET', `/klanten/${e}/${p}${q}`, { headers: h });
      await call(`GET known route, id ${name}`, 'GET', `/conversations/${e}${q}`, { token: agent, headers: h });
      await call(`GET known route, id+ ${name}`, 'GET', `/conversations/${p}/messages${q}`, { token: agent, headers: h });
      await call(`GET list ${name}`, 'GET', `/conversations${q}&status=${e}&customerId=${e}&limit=${e}`, { token: agent, headers: h });
      await call(`POST message ${name}`, 'POST', `/conversations/${conversationId}/messages${q}`, {
        token: customer,
        headers: h,
        json: { clientMessageId: randomUUID(), body: `${PII.text} ${mixed(v)}` },
      });
      await call(`POST message bad fields ${name}`, 'POST', `/conversations/${conversationId}/messages`, {
        token: customer,
        headers: h,
        json: { clientMessageId: v, body: 42, [v]: v, [e]: p, nested: { email: v, deeper: [v, e] } },
      });
      await call(`400 invalid JSON ${name}`, 'POST', `/conversations/${conversationId}/messages`, {
        token: customer,
        headers: { ...h, 'content-type': 'application/json' },
        body: `{"clientMessageId": "${randomUUID()}", "body": ${v} ${e}}`,
      });
      await call(`PATCH profile ${name}`, 'PATCH', '/me/profile', { token: customer, headers: h, json: { locale: v, country: e, email: v } });
      await call(`PUT consent ${name}`, 'PUT', `/me/consents/${e}`, { token: customer, headers: h, json: { decision: v, textHash: e, conversationId: v } });
      await call(`GET consent text ${name}`, 'GET', `/consent/purposes/${e}/text?locale=${p}`, { headers: h });
      await call(`GET privacy ${name}`, 'GET', `/privacy?locale=${e}`, { headers: { ...h, 'accept-language': v } });
      await call(`GET audit ${name}`, 'GET', `/audit?targetId=${e}&actorId=${p}`, { token: officer, headers: h });
      await call(`GET ledger ${name}`, 'GET', `/consent/ledger?customerId=${e}&purpose=${p}`, { token: officer, headers: h });
      await call(`GET artifact ${name}`, 'GET', `/artifacts/${e}/content?purpose=${p}&reason=${e}`, { token: officer, headers: h });
      await call(`GET retention customer ${name}`, 'GET', `/retention/customers/${e}`, { token: officer, headers: h });
      await call(`POST hold bad ${name}`, 'POST', '/legal-holds', { token: officer, headers: h, json: { scope: v, targetId: v, reason: mixed(v) } });
      await call(`POST policy preview ${name}`, 'POST', `/retention/policies/${e}/preview`, { token: officer, headers: h, json: { duration: v, starts: e } });
      await call(`POST purpose ${name}`, 'POST', '/consent/purposes', { token: admin, headers: h, json: { code: v, description: v, categories: [v] } });
      await call(`bad token ${name}`, 'GET', `/me?access_token=${e}`, { headers: { ...h, authorization: `Bearer ${v}.${e}` } });
    }

    // Telephony webhooks: signed bodies full of personal data, and unsigned ones.
    for (const [name, v] of values) {
      const callId = `call-${randomUUID()}`;
      const phoneLike = /^\+?[0-9 ()./-]{6,32}$/.test(v) ? v : PII.mobileIntl;
      const body = JSON.stringify(telephonyEvent('call.started', { id: callId, direction: 'inbound', from: phoneLike, queue: `${v} ${encodeURIComponent(v)}`, customerSubject: v.replace(/[^A-Za-z0-9._:-]/g, '') }));
      await call(`telephony signed ${name}`, 'POST', '/telephony/events', { headers: signed(body), body });
      const bad = JSON.stringify(telephonyEvent(v, { id: v, direction: v, from: encodeURIComponent(v) }));
      await call(`telephony invalid ${name}`, 'POST', '/telephony/events', { headers: signed(bad), body: bad });
      await call(`telephony unsigned ${name}`, 'POST', '/telephony/events', { headers: { 'content-type': 'application/json', 'x-telephony-signature': v }, body: bad });
      const path = `/telephony/calls/${encodeURIComponent(v)}/recording-permission?purpose=${plus(v)}`;
      const ts = Math.floor(Date.now() / 1000);
      await call(`telephony permission ${name}`, 'GET', path, {
        headers: { 'x-telephony-timestamp': String(ts), 'x-telephony-signature': signTelephonyRequest(TELEPHONY_SECRET, ts, `GET ${path}`) },
      });
      const transcript = Buffer.from(`Klant ${PII.name}: ${v}\n`);
      const sha = createHash('sha256').update(transcript).digest('hex');
      const tPath = `/telephony/calls/${encodeURIComponent(v)}/transcripts`;
      await call(`telephony transcript ${name}`, 'POST', tPath, {
        headers: {
          'content-type': 'text/plain',
          'x-content-sha256': sha,
          'x-telephony-timestamp': String(ts),
          'x-telephony-signature': signTelephonyRequest(TELEPHONY_SECRET, ts, `POST ${tPath} ${sha}`),
        },
        body: transcript,
      });
    }
    // A value that fails a constraint in the database (an over-long provider call id).
    const longCall = JSON.stringify(telephonyEvent('call.started', { id: `${PII.email}${'9'.repeat(400)}`, direction: 'inbound', from: PII.mobileIntl, queue: `${PII.iban}${'q'.repeat(400)}` }));
    await call('telephony constraint', 'POST', '/telephony/events', { headers: signed(longCall), body: longCall });

    // Attachments: file names and multipart field names chosen by the client.
    for (const [name, v] of values) {
      const form = multipart([
        { name: v, content: v },
        { name: encodeURIComponent(v), content: PII.text },
        { name: 'file', fileName: `${v} ${PII.name}.txt`, content: `${PII.text}\n${v}\n` },
      ]);
      await call(`attachment fields ${name}`, 'POST', `/conversations/${conversationId}/attachments?name=${encodeURIComponent(v)}`, { token: customer, type: form.type, body: form.body });
      const only = multipart([{ name: 'file', fileName: `${encodeURIComponent(v)}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(v)]) }]);
      await call(`attachment ${name}`, 'POST', `/conversations/${conversationId}/attachments`, { token: customer, type: only.type, body: only.body });
      const exe = multipart([{ name: 'file', fileName: `${v}.exe`, content: Buffer.concat([Buffer.from('4d5a90000300000004000000ffff0000', 'hex'), Buffer.from(v)]) }]);
      await call(`attachment blocked ${name}`, 'POST', `/conversations/${conversationId}/attachments`, { token: customer, type: exe.type, body: exe.body });
    }
    // 413: an attachment over the limit, and a JSON body over the parser's limit.
    const big = multipart([{ name: 'file', fileName: `${PII.email}.pdf`, content: Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(1300 * 1024)]) }]);
    await call('413 attachment', 'POST', `/conversations/${conversationId}/attachments`, { token: customer, type: big.type, body: big.body });
    await call('413 json', 'POST', `/conversations/${conversationId}/messages`, {
      token: customer,
      json: { clientMessageId: randomUUID(), body: `${PII.text} ${PII.email} ${'z'.repeat(200 * 1024)}` },
    });

    // Consent and the diagnostics upload with a client-chosen file name.
    const asked = await call('consent request', 'POST', `/conversations/${conversationId}/consent-requests`, { token: agent, json: { purposes: ['diagnostics'] } });
    const prompt = (JSON.parse(asked.text || '{}') as { prompts?: Array<{ requestId: string; textHash: string }> }).prompts?.[0];
    if (prompt) {
      await call('consent stale hash', 'POST', `/consent/requests/${prompt.requestId}/answer`, { token: customer, json: { decision: 'grant', textHash: createHash('sha256').update(PII.email).digest('hex') } });
      const answer = await emit(customerSocket, 'consent.answer', { requestId: prompt.requestId, decision: 'grant', textHash: prompt.textHash });
      const uploadToken = (answer?.uploadToken as { token?: string } | undefined)?.token ?? '';
      const zip = Buffer.concat([Buffer.from('504b030414000000', 'hex'), Buffer.from(`${PII.email} ${PII.iban}`)]);
      for (const [name, v] of values.slice(0, 6)) {
        await call(`diagnostics bad token ${name}`, 'POST', `/conversations/${conversationId}/diagnostics`, {
          headers: { 'content-type': 'application/zip', 'x-upload-token': `sdu_${encodeURIComponent(v)}`, 'x-file-name': encodeURIComponent(`${v} ${PII.name}.zip`) },
          body: zip,
        });
      }
      await call('diagnostics', 'POST', `/conversations/${conversationId}/diagnostics`, {
        headers: { 'content-type': 'application/zip', 'x-upload-token': uploadToken, 'x-file-name': encodeURIComponent(`${PII.email} ${PII.name} ${PII.bsn}.zip`) },
        body: zip,
      });
    }

    // Legal holds: reasons with personal data; a second release is a 409.
    const hold = await call('hold', 'POST', '/legal-holds', { token: officer, json: { scope: 'conversation', targetId: conversationId, reason: `${PII.name} ${PII.email} ${PII.iban}` } });
    const holdId = (JSON.parse(hold.text || '{}') as { id?: string }).id ?? randomUUID();
    await call('hold release', 'POST', `/legal-holds/${holdId}/release`, { token: officer, json: { reason: `${PII.mobileTrunk} ${PII.bsn}` } });
    await call('409 hold release again', 'POST', `/legal-holds/${holdId}/release`, { token: officer, json: { reason: `${PII.postcode} ${PII.kvk}` } });
    await call('404 known route', 'GET', `/conversations/${randomUUID()}?who=${encodeURIComponent(PII.email)}`, { token: agent });

    // 500: the database refuses connections mid-run; requests full of personal data fail on it.
    const adminUrl = process.env[ENV.adminUrl]!;
    await withClient(adminUrl, async (c) => {
      await c.query(`ALTER DATABASE ${quoteIdent(database.name)} ALLOW_CONNECTIONS false`);
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
    });
    try {
      for (const [name, v] of values.slice(0, 4)) {
        await call(`500 message ${name}`, 'POST', `/conversations/${conversationId}/messages?who=${encodeURIComponent(v)}`, {
          token: customer,
          headers: piiHeaders(1),
          json: { clientMessageId: randomUUID(), body: `${PII.text} ${v}` },
        });
        await emit(customerSocket, 'message.send', { conversationId, clientMessageId: randomUUID(), body: `${PII.name} ${v}` });
        await call(`500 history ${name}`, 'GET', `/conversations/${conversationId}/messages`, { token: agent, headers: piiHeaders(2) });
      }
    } finally {
      await withClient(adminUrl, (c) => c.query(`ALTER DATABASE ${quoteIdent(database.name)} ALLOW_CONNECTIONS true`));
    }
    // Back to normal: the pool reconnects.
    await waitFor(`${base}/health/ready`, service, 30_000);
    await emit(customerSocket, 'conversation.close', { conversationId, note: PII.text });
    customerSocket.close();
    nulLocale.close();
    agentClient.close();
    // Let the close's transcript and any late log lines be written.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  it('was driven through every failure status', () => {
    const seen = new Set(Object.values(statuses));
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 500]) expect([...seen]).toContain(status);
  });

  it('logged the traffic with route templates, at trace level (so the search below means something)', () => {
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(200);
    expect(output).toContain('"path":"/conversations/:id/messages"');
    expect(output).toContain('"path":"/conversations/:id"');
    expect(output).toContain('"path":"/telephony/events"');
    expect(output).toContain('"statusCode":500');
    expect(output).toContain('Unhandled error');
  });

  it.each(Object.entries(PII))('keeps %s out of stdout and stderr, raw and encoded', (_name, value) => {
    const found = needles(value).filter((n) => output.includes(n));
    expect(found).toEqual([]);
  });

  it('keeps the free text and the name out, word by word', () => {
    expect(DISTINCT_WORDS.filter((w) => output.toLowerCase().includes(w.toLowerCase()))).toEqual([]);
  });

  it('keeps client-chosen request ids out: every logged request id is a UUID the server made', () => {
    const ids = [...output.matchAll(/"(?:reqId|id|correlationId)":"([^"]*)"/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThan(0);
    const notUuid = ids.filter((id) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) && !/^[A-Za-z0-9_-]{20}$/.test(id));
    expect(notUuid).toEqual([]);
  });

  it('writes nothing outside the logger on stderr', () => {
    expect(service.stderr()).toBe('');
  });
});
