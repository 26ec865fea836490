import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createServer, type Server } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import request from 'supertest';
import { ProbeGateway } from '../support/probe.gateway';
import { createTestApp, type TestApp } from '../support/test-app';

function connect(app: TestApp, auth: Record<string, unknown> = {}, headers: Record<string, string> = {}): Socket {
  return io(`${app.url}/probe`, { auth, extraHeaders: headers, transports: ['websocket'], reconnection: false, forceNew: true });
}

function connectError(socket: Socket): Promise<{ message: string; data?: unknown }> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (err: Error & { data?: unknown }) => resolve({ message: err.message, data: err.data }));
  });
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

describe('identity: bearer tokens on HTTP and on the socket handshake', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp({ providers: [ProbeGateway] });
  });
  afterAll(() => app.close());

  describe('HTTP', () => {
    it('answers 401 { code, message } without a token', async () => {
      const res = await request(app.url).get('/me').expect(401);
      expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message: 'This route needs a bearer token' });
    });

    it.each([
      ['a malformed token', 'Bearer not-a-jwt'],
      ['a token signed with another secret', 'FOREIGN'],
      ['an expired token', 'EXPIRED'],
      ['an unsigned token (alg none)', 'NONE'],
      ['a token for another audience', 'AUDIENCE'],
      ['a token that is both customer and staff', 'MIXED'],
      ['a Basic credential', 'Basic dXNlcjpwYXNz'],
    ])('answers 401 for %s', async (_label, kind) => {
      const header = await badToken(kind, app);
      const res = await request(app.url).get('/me').set('Authorization', header).expect(401);
      expect(res.body).toEqual({ code: 'UNAUTHENTICATED', message: expect.any(String) });
    });

    it('answers 403 for a token that carries no role of ours', async () => {
      const token = await sign({ roles: ['superuser'] }, app);
      const res = await request(app.url).get('/me').set('Authorization', `Bearer ${token}`).expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
    });

    it('knows who calls', async () => {
      const customer = await app.token('customer', 'cust-42', { locale: 'en-GB' });
      const res = await request(app.url).get('/me').set('Authorization', `Bearer ${customer}`).expect(200);
      expect(res.body).toEqual({ kind: 'customer', subject: 'cust-42', roles: ['customer'], locale: 'en-GB' });
    });

    it('refuses a customer on a staff route with 403 { code, message }', async () => {
      const customer = await app.token('customer');
      const res = await request(app.url).get('/system').set('Authorization', `Bearer ${customer}`).expect(403);
      expect(res.body).toEqual({ code: 'FORBIDDEN', message: 'This is only for the roles: agent, privacy_officer, admin' });
    });

    it.each(['agent', 'privacy_officer', 'admin'] as const)('lets %s on the staff route', async (role) => {
      const token = await app.token(role);
      const res = await request(app.url).get('/system').set('Authorization', `Bearer ${token}`).expect(200);
      expect(res.body.processors).toEqual([
        { role: 'database', name: 'PostgreSQL', location: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
        { role: 'blob storage', name: 'filesystem', location: 'this machine' },
      ]);
    });

    it('keeps public routes public', async () => {
      await request(app.url).get('/health').expect(200);
    });
  });

  describe('Socket.IO handshake', () => {
    it('refuses a connection without a token', async () => {
      const socket = connect(app);
      const err = await connectError(socket);
      expect(err.data).toEqual({ code: 'UNAUTHENTICATED', message: 'Connect with a bearer token (auth.token)' });
      socket.close();
    });

    it('refuses a connection with a bad token', async () => {
      const socket = connect(app, { token: await sign({ roles: ['agent'] }, app, 'another-secret-another-secret-123') });
      const err = await connectError(socket);
      expect(err.data).toEqual({ code: 'UNAUTHENTICATED', message: 'The access token is not valid' });
      socket.close();
    });

    it('accepts a token in auth.token or in the Authorization header, and knows the caller', async () => {
      const viaAuth = connect(app, { token: await app.token('customer', 'cust-7') });
      const viaHeader = connect(app, {}, { Authorization: `Bearer ${await app.token('agent', 'agent-7')}` });
      await Promise.all([connected(viaAuth), connected(viaHeader)]);
      expect(await viaAuth.emitWithAck('whoami', {})).toEqual({ subject: 'cust-7', roles: ['customer'], socket: 'string' });
      expect(await viaHeader.emitWithAck('whoami', {})).toEqual({ subject: 'agent-7', roles: ['agent'], socket: 'string' });
      viaAuth.close();
      viaHeader.close();
    });

    it('applies @Roles() to socket events, answering with { error: { code, message } }', async () => {
      const customer = connect(app, { token: await app.token('customer') });
      const agent = connect(app, { token: await app.token('agent') });
      await Promise.all([connected(customer), connected(agent)]);
      const exception = new Promise((resolve) => customer.once('exception', resolve));
      expect(await customer.emitWithAck('staff-only', {})).toEqual({
        error: { code: 'FORBIDDEN', message: 'This is only for the roles: agent, admin' },
      });
      expect(await exception).toEqual({ code: 'FORBIDDEN', message: 'This is only for the roles: agent, admin' });
      expect(await agent.emitWithAck('staff-only', {})).toEqual({ ok: true });
      customer.close();
      agent.close();
    });
  });
});

describe('identity: tokens from an OIDC issuer (JWKS)', () => {
  let app: TestApp;
  let issuer: Server;
  let issuerUrl: string;
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    issuer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys` }));
      } else if (req.url === '/keys') {
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as { port: number }).port}`;
    app = await createTestApp({
      env: { OIDC_ISSUER: issuerUrl, OIDC_AUDIENCE: 'support-desk-api', OIDC_ROLES_CLAIM: 'realm_access.roles' },
    });
  });
  afterAll(async () => {
    await app.close();
    await new Promise((resolve) => issuer.close(resolve));
  });

  const oidcToken = (key: CryptoKey, claims: Record<string, unknown>, audience = 'support-desk-api') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuerUrl)
      .setAudience(audience)
      .setSubject('officer-9')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  it('accepts a token signed by the issuer, with roles from the configured claim', async () => {
    const token = await oidcToken(privateKey, { realm_access: { roles: ['privacy_officer', 'offline_access'] } });
    const res = await request(app.url).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({ kind: 'staff', subject: 'officer-9', roles: ['privacy_officer'] });
    await request(app.url).get('/system').set('Authorization', `Bearer ${token}`).expect(200);
  });

  it('refuses a token signed by another key, or meant for another audience', async () => {
    const claims = { realm_access: { roles: ['admin'] } };
    await request(app.url)
      .get('/me')
      .set('Authorization', `Bearer ${await oidcToken(strangerKey, claims)}`)
      .expect(401);
    await request(app.url)
      .get('/me')
      .set('Authorization', `Bearer ${await oidcToken(privateKey, claims, 'someone-else')}`)
      .expect(401);
  });

  it('still accepts locally minted HS256 tokens next to the issuer', async () => {
    await request(app.url)
      .get('/me')
      .set('Authorization', `Bearer ${await app.token('agent')}`)
      .expect(200);
  });
});

async function sign(claims: Record<string, unknown>, app: TestApp, secret?: string, audience?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('someone')
    .setIssuer(app.config.auth.issuer)
    .setAudience(audience ?? app.config.auth.audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret ?? app.config.auth.hs256Secret));
}

async function badToken(kind: string, app: TestApp): Promise<string> {
  switch (kind) {
    case 'FOREIGN':
      return `Bearer ${await sign({ roles: ['agent'] }, app, 'another-secret-another-secret-123')}`;
    case 'EXPIRED':
      return `Bearer ${await new SignJWT({ roles: ['agent'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('someone')
        .setIssuer(app.config.auth.issuer)
        .setAudience(app.config.auth.audience)
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(app.config.auth.hs256Secret))}`;
    case 'NONE': {
      const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `Bearer ${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'x', roles: ['admin'], iss: app.config.auth.issuer, aud: app.config.auth.audience })}.`;
    }
    case 'AUDIENCE':
      return `Bearer ${await sign({ roles: ['agent'] }, app, undefined, 'another-service')}`;
    case 'MIXED':
      return `Bearer ${await sign({ roles: ['customer', 'agent'] }, app)}`;
    default:
      return kind;
  }
}
