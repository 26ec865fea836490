import request from 'supertest';
import { ProbeController } from '../support/probe.controller';
import { createTestApp, type TestApp } from '../support/test-app';

describe('errors: one mapping to status and { code, message }', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp({ controllers: [ProbeController] });
  });
  afterAll(() => app.close());

  it('turns an unknown error into a generic 500 with a correlation id, never a stack', async () => {
    const res = await request(app.url).get('/probe/crash?who=someone').expect(500);
    expect(res.body).toEqual({
      code: 'INTERNAL_ERROR',
      message: 'Something went wrong on our side. Quote the correlation id when you contact support.',
      correlationId: res.headers['x-request-id'],
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toMatch(/broken|at .*\.ts|stack/);
    // The cause is in the log under the same correlation id, for whoever answers the ticket.
    const logged = app.logs.entries().find((e) => e.correlationId === res.body.correlationId);
    expect(logged).toMatchObject({ level: 'error', err: { type: 'Error', message: expect.stringContaining('is broken') } });
  });

  it('keeps an incoming request id as the correlation id when it is a UUID', async () => {
    const id = '7f3a9c21-0b4e-4d6a-9c1f-2e8b5a7d3c10';
    const res = await request(app.url).get('/probe/crash').set('x-request-id', id).expect(500);
    expect(res.body.correlationId).toBe(id);
    expect(res.headers['x-request-id']).toBe(id);
  });

  // R5.1: a client-chosen id would be written into every line of the request's log.
  it.each(['lb-7f3a9c21', '123456782', 'jan.devries-example.nl', 'NL91ABNA0417164300', `${'a'.repeat(36)}`])(
    'replaces any other incoming request id (%s) with one of its own, and never echoes it',
    async (incoming) => {
      const res = await request(app.url).get('/probe/crash').set('x-request-id', incoming).expect(500);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(res.body.correlationId).toBe(res.headers['x-request-id']);
      expect(JSON.stringify(res.body) + JSON.stringify(res.headers)).not.toContain(incoming);
      expect(app.logs.text).not.toContain(incoming);
    },
  );

  it('maps a domain exception to its status', async () => {
    const res = await request(app.url).get('/probe/domain').expect(409);
    expect(res.body).toEqual({ code: 'CONFLICT', message: 'That was already done' });
  });

  it('reports validation failures field by field', async () => {
    const res = await request(app.url)
      .post('/probe/messages')
      .send({ text: 'hi', email: 'not-an-email', phone: '1', rating: 9, admin: true })
      .expect(400);
    expect(res.body).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'The request is not valid',
      details: expect.arrayContaining([
        'property admin should not exist',
        'email must be an email',
        'rating must not be greater than 5',
      ]),
    });
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await request(app.url)
      .post('/probe/messages')
      .set('content-type', 'application/json')
      .send('{"text": ')
      .expect(400);
    expect(res.body).toEqual({ code: 'INVALID_JSON', message: 'The request body is not valid JSON' });
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const res = await request(app.url).get('/no/such/route').expect(404);
    expect(res.body).toEqual({ code: 'NOT_FOUND', message: 'No such route' });
  });
});
