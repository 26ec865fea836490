import fc from 'fast-check';
import { createHash, randomUUID } from 'node:crypto';
import { signTelephonyRequest } from '../../src/telephony/telephony-signature';
import { createTestApp, type TestApp } from '../support/test-app';
import {
  BAD_IDS,
  badValues,
  Deep,
  deepText,
  exchange,
  expectContract,
  expectHealthy,
  expectNothingHalfWritten,
  fuzzOptions,
  toJson,
  type Answer,
} from './fuzz-kit';

/**
 * Every route of the OpenAPI document, fed bad input per field type as every
 * kind of caller: never a 5xx, always `{ code, message }`, always in time, the
 * service still ready, nothing half-written. A route the document lists without
 * an entry below fails the suite.
 */

const SECRET = 'fuzz-telephony-secret-fuzz-telephony-secret';
type Caller = 'customer' | 'agent' | 'privacy_officer' | 'admin' | 'none' | 'bad_token' | 'telephony';
const CALLERS: Caller[] = ['customer', 'agent', 'privacy_officer', 'admin', 'none', 'bad_token', 'telephony'];

interface Fixtures {
  conversationId: string;
  /** Its own conversation, so closing it leaves the others open for uploads. */
  closingId: string;
  customerId: string;
  requestId: string;
  textHash: string;
  artifactId: string;
  holdId: string;
  callId: string;
  uploadToken: string;
}

interface RouteEntry {
  /** Who may call it: the fixed cases go as the first; the random ones as anybody. */
  roles: Caller[];
  /** Valid path parameters (ids of real rows), so bad input meets the code past the lookup. */
  path?: (f: Fixtures) => Record<string, string>;
  query?: (f: Fixtures) => Record<string, unknown>;
  body?: (f: Fixtures) => Record<string, unknown>;
  /** Extra bad values for one field, beyond those of its type. */
  hints?: Record<string, unknown[]>;
  upload?: 'multipart' | 'raw' | 'signed-raw';
  /** Extra request headers a valid call carries. */
  headers?: (f: Fixtures) => Record<string, string>;
}

const conv = (f: Fixtures) => ({ id: f.conversationId });
const DURATIONS = ['P999999999Y', 'P2147483648D', 'P100000Y', 'P1200M1D', 'P99999999999999999999D', 'P0D', 'P101Y'];

const ROUTES: Record<string, RouteEntry> = {
  'GET /health': { roles: ['none'] },
  'GET /health/ready': { roles: ['none'] },
  'GET /me': { roles: ['customer'] },
  'GET /system': { roles: ['agent'] },
  'POST /conversations': { roles: ['customer'] },
  'GET /conversations': { roles: ['agent'], query: () => ({ limit: 10 }) },
  'GET /conversations/{id}': { roles: ['customer'], path: conv },
  'GET /conversations/{id}/messages': { roles: ['customer'], path: conv, query: () => ({ after: 0, limit: 10 }) },
  'POST /conversations/{id}/messages': { roles: ['customer'], path: conv, body: () => ({ clientMessageId: `m-${randomUUID()}`, body: 'hello' }) },
  'POST /conversations/{id}/assign': { roles: ['admin'], path: conv, body: () => ({}) },
  'POST /conversations/{id}/close': { roles: ['privacy_officer'], path: (f) => ({ id: f.closingId }) },
  'POST /conversations/{id}/attachments': { roles: ['customer'], path: conv, upload: 'multipart' },
  'POST /conversations/{id}/diagnostics': { roles: ['none'], path: conv, upload: 'raw', headers: (f) => ({ 'x-upload-token': f.uploadToken }) },
  'GET /conversations/{id}/artifacts': { roles: ['customer'], path: conv, query: () => ({ purpose: 'support' }) },
  'GET /artifacts/{id}': { roles: ['privacy_officer'], path: (f) => ({ id: f.artifactId }), query: () => ({ purpose: 'support', reason: 'fuzz review' }) },
  'GET /artifacts/{id}/content': { roles: ['privacy_officer'], path: (f) => ({ id: f.artifactId }), query: () => ({ purpose: 'support', reason: 'fuzz review' }) },
  'POST /conversations/{id}/consent-requests': { roles: ['agent'], path: conv, body: () => ({ purposes: ['diagnostics'] }) },
  'GET /conversations/{id}/consent-requests': { roles: ['customer'], path: conv },
  'GET /consent/requests/{id}': { roles: ['customer'], path: (f) => ({ id: f.requestId }) },
  'POST /consent/requests/{id}/answer': { roles: ['customer'], path: (f) => ({ id: f.requestId }), body: (f) => ({ decision: 'deny', textHash: f.textHash }) },
  'GET /consent/purposes': { roles: ['none'] },
  'POST /consent/purposes': {
    roles: ['admin'],
    body: () => ({ code: `fz_${randomUUID().slice(0, 8)}`, legalBasis: 'consent', retentionTag: 'diagnostics', categories: ['device_state'], description: 'A purpose' }),
  },
  'PATCH /consent/purposes/{code}': { roles: ['admin'], path: () => ({ code: 'customer_profile' }), body: () => ({ description: 'Customer picture' }) },
  'GET /consent/purposes/{code}/text': { roles: ['none'], path: () => ({ code: 'diagnostics' }), query: () => ({ locale: 'en' }) },
  'GET /consent/purposes/{code}/texts': { roles: ['agent'], path: () => ({ code: 'diagnostics' }) },
  'POST /consent/purposes/{code}/texts': {
    roles: ['admin'],
    path: () => ({ code: 'diagnostics' }),
    body: () => ({ locale: 'en', title: 'Diagnostics', body: 'We collect {categories}. Ask {privacyContact} or {authority}.', categories: {}, effectiveFrom: '2030-01-01T00:00:00Z' }),
  },
  'GET /consent/ledger': { roles: ['privacy_officer'], query: (f) => ({ customerId: f.customerId, after: 0, limit: 10 }) },
  'GET /privacy': { roles: ['none'], query: () => ({ locale: 'en' }) },
  'GET /me/privacy': { roles: ['customer'], query: () => ({ locale: 'en' }) },
  'PUT /me/consents/{purpose}': { roles: ['customer'], path: () => ({ purpose: 'chat_recording' }), body: () => ({ decision: 'withdraw' }) },
  'GET /me/consents': { roles: ['customer'] },
  'GET /me/consents/history': { roles: ['customer'], query: () => ({ after: 0, limit: 10 }) },
  'PATCH /me/profile': { roles: ['customer'], body: () => ({ locale: 'en-GB', country: 'NL' }) },
  'GET /audit': { roles: ['privacy_officer'], query: () => ({ after: 0, limit: 10 }) },
  'GET /audit/verify': { roles: ['privacy_officer'] },
  'GET /retention/policies': { roles: ['privacy_officer'] },
  'POST /retention/policies/{tag}/preview': { roles: ['privacy_officer'], path: () => ({ tag: 'support_chat' }), body: () => ({ duration: 'P13M' }), hints: { duration: DURATIONS } },
  'PUT /retention/policies/{tag}': {
    roles: ['privacy_officer'],
    path: () => ({ tag: 'support_chat' }),
    body: () => ({ duration: 'P13M', expectAffected: 0 }),
    hints: { duration: DURATIONS, expectAffected: [2 ** 31, 2 ** 63, 1e19] },
  },
  'POST /legal-holds': {
    roles: ['privacy_officer'],
    body: (f) => ({ scope: 'conversation', targetId: f.conversationId, reason: 'Fuzz hold', endsAt: '2031-01-01T00:00:00Z' }),
    hints: { reason: ['   ', ' \u0000 ', '  a  ', '\u00a0\u00a0\u00a0\u00a0'], endsAt: ['+275760-09-13T00:00:00Z', '9999-12-31T23:59:59Z'] },
  },
  'GET /legal-holds': { roles: ['privacy_officer'], query: () => ({ limit: 10 }) },
  'GET /legal-holds/{id}': { roles: ['privacy_officer'], path: (f) => ({ id: f.holdId }) },
  'POST /legal-holds/{id}/release': { roles: ['privacy_officer'], path: (f) => ({ id: f.holdId }), body: () => ({ reason: 'Fuzz release' }), hints: { reason: ['   ', '\t\t\t\t'] } },
  'GET /retention/purge-runs': { roles: ['privacy_officer'], query: () => ({ limit: 10 }) },
  'GET /retention/overview': { roles: ['privacy_officer'] },
  'GET /retention/upcoming': { roles: ['privacy_officer'] },
  'GET /retention/overdue': { roles: ['privacy_officer'], query: () => ({ limit: 10 }) },
  'POST /retention/reconcile': { roles: ['privacy_officer'], query: () => ({ dryRun: true }) },
  'GET /retention/customers/{customerId}/purged': { roles: ['privacy_officer'], path: (f) => ({ customerId: f.customerId }) },
  'GET /me/purged': { roles: ['customer'] },
  'POST /telephony/events': {
    roles: ['telephony'],
    body: (f) => ({ id: `evt-${randomUUID()}`, type: 'call.answered', occurredAt: new Date().toISOString(), call: { id: f.callId, agentSubject: 'fuzz-agent' } }),
  },
  'GET /telephony/calls/{id}/recording-permission': { roles: ['telephony'], path: (f) => ({ id: f.callId }), query: () => ({ purpose: 'call_recording' }) },
  'POST /telephony/calls/{id}/recordings/{segment}': { roles: ['telephony'], path: (f) => ({ id: f.callId, segment: String(1 + Math.floor(Math.random() * 99_999)) }), upload: 'signed-raw' },
  'POST /telephony/calls/{id}/transcripts': { roles: ['telephony'], path: (f) => ({ id: f.callId }), upload: 'signed-raw' },
};

/** A change made to an otherwise valid request. */
type Mutation =
  | { kind: 'field'; where: 'query' | 'body'; name: string; value: unknown; missing?: boolean }
  | { kind: 'path'; name: string; value: string }
  | { kind: 'raw-body'; body: string | Buffer; contentType: string }
  | { kind: 'stalled-body' }
  | { kind: 'extra-field' }
  | { kind: 'multipart'; variant: MultipartVariant }
  | { kind: 'upload'; variant: RawVariant }
  | { kind: 'none' };
type MultipartVariant = 'two-files' | 'file-in-other-field' | 'no-closing-boundary' | 'stalls' | 'no-file' | 'bad-boundary' | 'nul-file-name';
type RawVariant = 'stalls' | 'empty' | 'bad-sha';

interface Case {
  caller: Caller;
  mutation: Mutation;
}

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string; schema?: { type?: string; format?: string } }>;
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
}
interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, { properties?: Record<string, { type?: string; format?: string }> }> };
}

const SAMPLE_PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2000, 7)]);
const WAV = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(2000)]);

describe('fuzz: every route answers bad input with a 4xx { code, message }, in time, leaving nothing half-written', () => {
  let app: TestApp;
  let doc: OpenApiDocument;
  let fixtures: Fixtures;
  const tokens = {} as Record<Caller, string | undefined>;
  const failures: string[] = [];

  beforeAll(async () => {
    app = await createTestApp({ env: { TELEPHONY_WEBHOOK_SECRET: SECRET, UPLOAD_IDLE_TIMEOUT_SECONDS: '1', REQUEST_TIMEOUT_SECONDS: '1', ATTACHMENT_MAX_MB: '1', DIAGNOSTICS_MAX_MB: '1', RECORDING_MAX_MB: '1' } });
    for (const role of ['customer', 'agent', 'privacy_officer', 'admin'] as const) tokens[role] = await app.token(role, `fuzz-${role}`);
    tokens.bad_token = 'not.a.token';
    doc = JSON.parse((await exchange(`${app.url}/docs/json`, { method: 'GET' })).text) as OpenApiDocument;
    fixtures = await makeFixtures();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    if (failures.length) process.stdout.write(`fuzz failures:\n${failures.join('\n')}\n`);
  });

  const json = async (method: string, path: string, caller: Caller, body?: unknown) => {
    const answer = await send(method, path, caller, { body: body === undefined ? undefined : JSON.stringify(body), contentType: 'application/json' });
    if (answer.status >= 300) throw new Error(`fixture ${method} ${path}: ${answer.status} ${answer.text}`);
    return JSON.parse(answer.text) as Record<string, unknown>;
  };

  async function makeFixtures(): Promise<Fixtures> {
    const conversation = await json('POST', '/conversations', 'customer');
    const conversationId = conversation.id as string;
    await json('POST', `/conversations/${conversationId}/assign`, 'agent', {});
    const asked = await json('POST', `/conversations/${conversationId}/consent-requests`, 'agent', { purposes: ['diagnostics'] });
    const prompts = asked.prompts as Array<{ requestId: string; textHash: string }>;
    const granted = await json('POST', `/consent/requests/${prompts[0].requestId}/answer`, 'customer', { decision: 'grant', textHash: prompts[0].textHash });
    const asked2 = await json('POST', `/conversations/${conversationId}/consent-requests`, 'agent', { purposes: ['chat_recording'] });
    const prompt = (asked2.prompts as Array<{ requestId: string; textHash: string }>)[0];
    const attached = await multipartUpload(`/conversations/${conversationId}/attachments`, 'customer', 'valid');
    if (attached.status !== 201) throw new Error(`fixture attachment: ${attached.status} ${attached.text}`);
    const hold = await json('POST', '/legal-holds', 'privacy_officer', { scope: 'conversation', targetId: conversationId, reason: 'Fuzz fixture hold' });
    const callId = `fuzz-call-${randomUUID()}`;
    const event = (type: string, extra: object) => ({ id: `evt-${randomUUID()}`, type, occurredAt: new Date().toISOString(), ...extra });
    await json('POST', '/telephony/events', 'telephony', event('call.started', { call: { id: callId, direction: 'inbound', from: '+31 6 1234 5678' } }));
    await json('POST', '/telephony/events', 'telephony', event('call.answered', { call: { id: callId, agentSubject: 'fuzz-agent' } }));
    for (const purpose of ['call_recording', 'transcription']) {
      const text = await json('GET', `/consent/purposes/${purpose}/text`, 'none');
      await json('POST', '/telephony/events', 'telephony', event('consent.keypress', { call: { id: callId }, consent: { purpose, decision: 'grant', digit: '1', textHash: text.textHash } }));
    }
    const closing = await json('POST', '/conversations', 'customer');
    return {
      conversationId,
      closingId: closing.id as string,
      customerId: conversation.customerId as string,
      requestId: prompt.requestId,
      textHash: prompt.textHash,
      artifactId: JSON.parse(attached.text).id as string,
      holdId: hold.id as string,
      callId,
      uploadToken: (granted.uploadToken as { token: string }).token,
    };
  }

  function authHeaders(caller: Caller, method: string, path: string, rawBody: string | Buffer | undefined, sha?: string): Record<string, string> {
    if (caller === 'none') return {};
    if (caller === 'telephony') {
      const timestamp = Math.floor(Date.now() / 1000);
      const payload = sha ? `${method} ${path} ${sha}` : rawBody !== undefined && rawBody.length > 0 ? rawBody : `${method} ${path}`;
      return { 'x-telephony-timestamp': String(timestamp), 'x-telephony-signature': signTelephonyRequest(SECRET, timestamp, payload), ...(sha && { 'x-content-sha256': sha }) };
    }
    return { authorization: `Bearer ${tokens[caller]}` };
  }

  function send(
    method: string,
    path: string,
    caller: Caller,
    options: { body?: string | Buffer; contentType?: string; headers?: Record<string, string>; chunks?: Buffer[]; endRequest?: boolean; sha?: string; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...authHeaders(caller, method, path, options.body, options.sha), ...(options.headers ?? {}) };
    if (options.body !== undefined || options.chunks) headers['content-type'] = options.contentType ?? 'application/json';
    if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
    return exchange(`${app.url}${path}`, { method, headers, body: options.body, chunks: options.chunks, endRequest: options.endRequest, timeoutMs: options.timeoutMs });
  }

  function multipartBody(variant: MultipartVariant | 'valid'): { body: Buffer; type: string } {
    const boundary = `----fz${randomUUID().replaceAll('-', '')}`;
    const part = (field: string, name: string, content: Buffer) =>
      Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/pdf\r\n\r\n`), content, Buffer.from('\r\n')]);
    const end = Buffer.from(`--${boundary}--\r\n`);
    const type = `multipart/form-data; boundary=${boundary}`;
    switch (variant) {
      case 'valid':
        return { body: Buffer.concat([part('file', 'a.pdf', SAMPLE_PDF), end]), type };
      case 'two-files':
        return { body: Buffer.concat([part('file', 'a.pdf', SAMPLE_PDF), part('other', 'b.pdf', SAMPLE_PDF), end]), type };
      case 'file-in-other-field':
        return { body: Buffer.concat([part('other', 'b.pdf', SAMPLE_PDF), part('file', 'a.pdf', SAMPLE_PDF), end]), type };
      case 'no-closing-boundary':
        return { body: part('file', 'a.pdf', SAMPLE_PDF), type };
      case 'stalls':
        return { body: part('file', 'a.pdf', SAMPLE_PDF).subarray(0, 600), type };
      case 'no-file':
        return { body: Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n`), end]), type };
      case 'bad-boundary':
        return { body: Buffer.from('garbage without any boundary'), type: 'multipart/form-data; boundary=' };
      case 'nul-file-name':
        return { body: Buffer.concat([part('file', 'a\u0000\u0007.pdf', SAMPLE_PDF), end]), type };
    }
  }

  function multipartUpload(path: string, caller: Caller, variant: MultipartVariant | 'valid'): Promise<Answer> {
    const { body, type } = multipartBody(variant);
    if (variant === 'stalls') {
      // Declares more than it sends, then goes quiet.
      return send('POST', path, caller, { chunks: [body], endRequest: false, contentType: type, headers: { 'content-length': String(body.length + 5000) } });
    }
    return send('POST', path, caller, { body, contentType: type });
  }

  function rawUpload(path: string, caller: Caller, variant: RawVariant | 'valid', headers: Record<string, string>): Promise<Answer> {
    const sha = createHash('sha256').update(WAV).digest('hex');
    const signed = caller === 'telephony' ? { sha: variant === 'bad-sha' ? 'f'.repeat(64) : sha } : {};
    if (variant === 'stalls') {
      return send('POST', path, caller, { chunks: [WAV.subarray(0, 500)], endRequest: false, contentType: 'audio/wav', headers: { ...headers, 'content-length': String(WAV.length) }, ...signed });
    }
    return send('POST', path, caller, { body: variant === 'empty' ? Buffer.alloc(0) : WAV, contentType: 'audio/wav', headers, ...signed });
  }

  function fieldsOf(operation: OpenApiOperation, entry: RouteEntry, f: Fixtures) {
    const query = new Map<string, { type: string; format?: string }>();
    const body = new Map<string, { type: string; format?: string }>();
    for (const p of operation.parameters ?? []) {
      if (p.in === 'query') query.set(p.name, { type: p.schema?.type ?? 'string', format: p.schema?.format });
    }
    for (const [name, value] of Object.entries(entry.query?.(f) ?? {})) if (!query.has(name)) query.set(name, { type: typeof value === 'number' ? 'integer' : 'string' });
    const ref = operation.requestBody?.content?.['application/json']?.schema?.$ref;
    const schema = ref ? doc.components?.schemas?.[ref.split('/').pop()!] : undefined;
    for (const [name, p] of Object.entries(schema?.properties ?? {})) body.set(name, { type: p.type ?? 'string', format: p.format });
    for (const [name, value] of Object.entries(entry.body?.(f) ?? {})) {
      if (!body.has(name)) body.set(name, { type: typeof value === 'number' ? 'integer' : Array.isArray(value) ? 'array' : typeof value });
    }
    return { query, body };
  }

  function hasBody(method: string, operation: OpenApiOperation, entry: RouteEntry): boolean {
    return method !== 'GET' && !entry.upload && (operation.requestBody !== undefined || entry.body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH');
  }

  /** The fixed cases, as the route's own caller: every class of bad input at least once. */
  function fixedCases(method: string, path: string, operation: OpenApiOperation, entry: RouteEntry): Case[] {
    const caller = entry.roles[0];
    // Uploads first: a valid one uses up the diagnostics token.
    const cases: Mutation[] = [];
    if (entry.upload === 'multipart') {
      for (const variant of ['two-files', 'file-in-other-field', 'no-closing-boundary', 'stalls', 'no-file', 'bad-boundary', 'nul-file-name'] as const) cases.push({ kind: 'multipart', variant });
    }
    if (entry.upload === 'raw' || entry.upload === 'signed-raw') for (const variant of ['stalls', 'empty', 'bad-sha'] as const) cases.push({ kind: 'upload', variant });
    cases.push({ kind: 'none' });
    const { query, body } = fieldsOf(operation, entry, fixtures);
    const canonical = ['a\u0000b', 'x\u0007\u001b', '   ', '9223372036854775808', 1e19, 2 ** 31, -1, 1.5, 'a'.repeat(3000), new Deep(5000), new Deep(5000, 'object')];
    for (const name of query.keys()) {
      for (const value of [...canonical.filter((v) => typeof v !== 'object'), ...(entry.hints?.[name] ?? [])]) cases.push({ kind: 'field', where: 'query', name, value });
    }
    for (const name of body.keys()) {
      for (const value of [...canonical, null, [], ...(entry.hints?.[name] ?? [])]) cases.push({ kind: 'field', where: 'body', name, value });
      cases.push({ kind: 'field', where: 'body', name, value: undefined, missing: true });
    }
    for (const name of (path.match(/\{(\w+)\}/g) ?? []).map((p) => p.slice(1, -1))) for (const value of BAD_IDS.slice(0, 5)) cases.push({ kind: 'path', name, value });
    if (hasBody(method, operation, entry)) {
      cases.push(
        { kind: 'raw-body', body: deepText(5000, 'array'), contentType: 'application/json' },
        { kind: 'raw-body', body: deepText(20_000, 'object'), contentType: 'application/json' },
        { kind: 'raw-body', body: '{"a":', contentType: 'application/json' },
        { kind: 'raw-body', body: 'null', contentType: 'application/json' },
        { kind: 'raw-body', body: '"text"', contentType: 'application/json' },
        { kind: 'raw-body', body: JSON.stringify({ pad: 'x'.repeat(300_000) }), contentType: 'application/json' },
        { kind: 'raw-body', body: 'a=1&b[c][d][e][f][g][h]=2', contentType: 'application/x-www-form-urlencoded' },
        { kind: 'raw-body', body: 'plain text', contentType: 'text/plain' },
        { kind: 'extra-field' },
      );
    }
    return cases.map((mutation) => ({ caller, mutation }));
  }

  function caseArbitrary(method: string, path: string, operation: OpenApiOperation, entry: RouteEntry): fc.Arbitrary<Case> {
    const { query, body } = fieldsOf(operation, entry, fixtures);
    const options: fc.Arbitrary<Mutation>[] = [fc.constant<Mutation>({ kind: 'none' })];
    for (const [name, t] of query) options.push(badValues(t.type, t.format).map((value) => ({ kind: 'field', where: 'query', name, value })));
    for (const [name, t] of body) {
      options.push(badValues(t.type, t.format).map((value) => ({ kind: 'field', where: 'body', name, value })));
      if (entry.hints?.[name]) options.push(fc.constantFrom(...entry.hints[name]).map((value) => ({ kind: 'field', where: 'body', name, value })));
    }
    const params = (path.match(/\{(\w+)\}/g) ?? []).map((p) => p.slice(1, -1));
    if (params.length) options.push(fc.record({ name: fc.constantFrom(...params), value: fc.oneof(fc.constantFrom(...BAD_IDS), fc.string({ maxLength: 30 }).map(encodeURIComponent)) }).map((p) => ({ kind: 'path', ...p })));
    if (hasBody(method, operation, entry)) {
      options.push(
        fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null'), fc.string({ unit: 'binary', maxLength: 60 })).map((b) => ({ kind: 'raw-body', body: b, contentType: 'application/json' })),
      );
    }
    if (entry.upload === 'multipart') options.push(fc.constantFrom<MultipartVariant>('two-files', 'file-in-other-field', 'no-closing-boundary', 'no-file').map((variant) => ({ kind: 'multipart', variant })));
    return fc.record({ caller: fc.constantFrom(...CALLERS), mutation: fc.oneof(...options) });
  }

  async function run(method: string, path: string, entry: RouteEntry, c: Case): Promise<Answer> {
    const params = { ...(entry.path?.(fixtures) ?? {}) };
    const query: Record<string, unknown> = { ...(entry.query?.(fixtures) ?? {}) };
    const body: Record<string, unknown> = { ...(entry.body?.(fixtures) ?? {}) };
    const m = c.mutation;
    if (m.kind === 'field' && m.where === 'query') {
      if (m.missing) delete query[m.name];
      else query[m.name] = m.value;
    }
    if (m.kind === 'field' && m.where === 'body') {
      if (m.missing) delete body[m.name];
      else body[m.name] = m.value;
    }
    if (m.kind === 'extra-field') body.unexpected = 'x';
    const encodedParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, encodeURIComponent(v)]));
    if (m.kind === 'path') encodedParams[m.name] = m.value;
    const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodedParams[name]) + queryString(query);
    const headers = entry.headers?.(fixtures) ?? {};
    if (m.kind === 'multipart') return multipartUpload(url, c.caller, m.variant);
    if (entry.upload === 'multipart') return multipartUpload(url, c.caller, 'valid');
    if (entry.upload) return rawUpload(url, c.caller, m.kind === 'upload' ? m.variant : 'valid', headers);
    if (m.kind === 'raw-body') return send(method, url, c.caller, { body: m.body, contentType: m.contentType, headers });
    if (m.kind === 'stalled-body') {
      // Half a JSON body, then nothing: the short request timeout answers it.
      return send(method, url, c.caller, { chunks: [Buffer.from('{"a":')], endRequest: false, headers: { ...headers, 'content-length': '100' } });
    }
    const sendsBody = method !== 'GET' && (entry.body !== undefined || m.kind === 'field' || m.kind === 'extra-field');
    return send(method, url, c.caller, { body: sendsBody ? toJson(body) : undefined, headers });
  }

  it('has an entry for every route of the OpenAPI document, and no entry for a route it lacks', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.filter((r) => !(r in ROUTES))).toEqual([]);
    expect(Object.keys(ROUTES).filter((r) => !documented.includes(r))).toEqual([]);
  });

  // The short timeout is the same for every route; all stalled bodies at once keep the suite quick.
  it('answers a body that stalls, on every route that takes one, with 408 REQUEST_TIMEOUT', async () => {
    const withBody = Object.keys(ROUTES).filter((route) => {
      const [method, path] = route.split(' ');
      return hasBody(method, doc.paths[path][method.toLowerCase()], ROUTES[route]);
    });
    expect(withBody.length).toBeGreaterThan(10);
    const answers = await Promise.all(withBody.map((route) => run(route.split(' ')[0], route.split(' ')[1], ROUTES[route], { caller: ROUTES[route].roles[0], mutation: { kind: 'stalled-body' } })));
    answers.forEach((answer, i) => {
      expectContract(answer, `${withBody[i]} with a stalled body`);
      expect([withBody[i], answer.status, JSON.parse(answer.text).code]).toEqual([withBody[i], 408, 'REQUEST_TIMEOUT']);
    });
    await expectHealthy(app, 'stalled bodies');
  });

  it('answers a URL or headers too large for Node with { code, message }', async () => {
    for (const answer of [
      await exchange(`${app.url}/conversations?cursor=${'x'.repeat(70_000)}`, { method: 'GET' }),
      await exchange(`${app.url}/me`, { method: 'GET', headers: { 'x-pad': 'x'.repeat(70_000) } }),
    ]) {
      expectContract(answer, 'a request too large for Node');
      expect(answer.status).toBe(431);
    }
    await expectHealthy(app, 'oversized requests');
  });

  it.each(Object.keys(ROUTES))('%s', async (route) => {
    const [method, path] = route.split(' ');
    const operation = doc.paths[path]?.[method.toLowerCase()];
    expect(operation).toBeDefined();
    const entry = ROUTES[route];
    const examples = fixedCases(method, path, operation, entry).map((c) => [c]);
    await fc.assert(
      fc.asyncProperty(caseArbitrary(method, path, operation, entry), async (c) => {
        const answer = await run(method, path, entry, c);
        const what = `${route} as ${c.caller} with ${describeMutation(c.mutation)}`;
        if (process.env.FUZZ_TRACE) process.stdout.write(`${what} -> ${answer.status} ${answer.ms} ms ${answer.text.slice(0, 120)}\n`);
        try {
          expectContract(answer, what);
          const expected = c.caller === entry.roles[0] ? EXPECTED[describeMutation(c.mutation)] : undefined;
          if (expected && (answer.status !== expected.status || !answer.text.includes(`"${expected.code}"`))) {
            throw new Error(`${what}: expected ${expected.status} ${expected.code}, got ${answer.status} ${answer.text.slice(0, 200)}`);
          }
          await expectHealthy(app, what);
          if (entry.upload) await expectNothingHalfWritten(app, what);
        } catch (err) {
          failures.push((err as Error).message.slice(0, 300));
          // FUZZ_SURVEY=1 goes on past a failure, to list every one.
          if (!process.env.FUZZ_SURVEY) throw err;
        }
      }),
      fuzzOptions(examples),
    );
    await expectNothingHalfWritten(app, route);
  });
});

/** What the route's own caller must get for these, whatever the route. */
const EXPECTED: Record<string, { status: number; code: string }> = {
  'upload two-files': { status: 400, code: 'TOO_MANY_FILES' },
  'upload file-in-other-field': { status: 400, code: 'TOO_MANY_FILES' },
  'upload no-closing-boundary': { status: 400, code: 'UPLOAD_INCOMPLETE' },
  'upload stalls': { status: 408, code: 'REQUEST_TIMEOUT' },
  'stalled-body': { status: 408, code: 'REQUEST_TIMEOUT' },
};

function queryString(query: Record<string, unknown>): string {
  const parts: string[] = [];
  const enc = (v: string) => {
    try {
      return encodeURIComponent(v);
    } catch {
      return '%ED%A0%80'; // a lone surrogate, as a client that does not check would send it
    }
  };
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) parts.push(`${enc(name)}=${enc(typeof v === 'object' && v !== null ? JSON.stringify(v).slice(0, 3000) : String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function describeMutation(m: Mutation): string {
  const short = (v: unknown) => {
    let s: string;
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = String(v);
    }
    return s.length > 60 ? `${s.slice(0, 60)}… (${s.length} chars)` : s;
  };
  switch (m.kind) {
    case 'field':
      return m.missing ? `${m.where}.${m.name} missing` : `${m.where}.${m.name}=${short(m.value)}`;
    case 'path':
      return `path ${m.name}=${short(m.value)}`;
    case 'raw-body':
      return `body ${m.contentType} ${short(typeof m.body === 'string' ? m.body : '<bytes>')}`;
    case 'multipart':
    case 'upload':
      return `upload ${m.variant}`;
    default:
      return m.kind;
  }
}
