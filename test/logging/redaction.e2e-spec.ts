import { io } from 'socket.io-client';
import request from 'supertest';
import { ProbeController } from '../support/probe.controller';
import { ProbeGateway } from '../support/probe.gateway';
import { createTestApp, type TestApp } from '../support/test-app';

/** Design invariant 7 / R5.1: message text, e-mail, phone, IP and tokens never reach the log. */
describe('logs carry no personal data', () => {
  let app: TestApp;
  const secrets = {
    text: 'Mijn administratie van Bakkerij De Vries is kapot',
    email: 'j.devries@bakkerij-devries.nl',
    phone: '+31 6 1234 5678',
    phoneNational: '06-87654321',
    forwardedIp: '203.0.113.77',
    forwardedIpV6: '2001:db8::7334',
  };
  let token: string;

  beforeAll(async () => {
    app = await createTestApp({ controllers: [ProbeController], providers: [ProbeGateway] });
    token = await app.token('customer', 'cust-log');

    await request(app.url)
      .post('/probe/messages')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Forwarded-For', `${secrets.forwardedIp}, ${secrets.forwardedIpV6}`)
      .set('Cookie', `session=${token}`)
      .send({ text: secrets.text, email: secrets.email, phone: secrets.phone, rating: 4 })
      .expect(201);
    await request(app.url).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    await request(app.url)
      .get(`/probe/crash?who=${encodeURIComponent(secrets.email)}&tel=${encodeURIComponent(secrets.phoneNational)}&token=${token}`)
      .expect(500);
    await request(app.url).get(`/me?access_token=${token}`).expect(401);
    await request(app.url).get('/me').set('Authorization', `Bearer ${token}x`).expect(401);

    const socket = io(`${app.url}/probe`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await socket.emitWithAck('whoami', { note: secrets.text });
    socket.close();
  });
  afterAll(() => app.close());

  it('logged the traffic (so the search below means something)', () => {
    const requests = app.logs.entries().filter((e) => e.msg === 'request completed');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(app.logs.text).toContain('/probe/messages');
    expect(app.logs.text).toContain('Unhandled error');
    expect(app.logs.entries().find((e) => e.context === 'Probe')).toMatchObject({
      dto: { text: '[redacted]', email: '[redacted]', phone: '[redacted]', rating: 4 },
      msg: 'message from [email] ([phone])',
    });
  });

  it('keeps the bearer token out, whole or in part', () => {
    expect(app.logs.text).not.toContain(token);
    expect(app.logs.text).not.toContain(token.split('.')[2]);
  });

  it.each(Object.entries(secrets))('keeps the %s out', (_name, value) => {
    expect(app.logs.text).not.toContain(value);
    expect(app.logs.text).not.toContain(encodeURIComponent(value));
  });

  it('keeps the client address out', () => {
    expect(app.logs.text).not.toMatch(/127\.0\.0\.1|::ffff:|remoteAddress|x-forwarded-for/i);
  });

  it('keeps headers and query strings out of request logs', () => {
    for (const entry of app.logs.entries().filter((e) => e.req)) {
      expect(Object.keys(entry.req as object).sort()).toEqual(['id', 'method', 'path']);
      expect((entry.req as { path: string }).path).not.toContain('?');
    }
  });
});
