import request from 'supertest';
import { startS3Server, type TestS3Server } from '../support/s3-server';
import { createTestApp, type TestApp } from '../support/test-app';

describe('operations: health, readiness, API docs, security headers', () => {
  describe('on the filesystem store', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await createTestApp();
    });
    afterAll(() => app.close());

    it('answers liveness without a token', async () => {
      expect((await request(app.url).get('/health').expect(200)).body).toEqual({ status: 'ok' });
    });

    it('is ready when the database and the store answer', async () => {
      const res = await request(app.url).get('/health/ready').expect(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' }, blobStore: { status: 'up', driver: 'fs' } },
      });
    });

    it('serves the OpenAPI document and its UI', async () => {
      const json = await request(app.url).get('/docs/json').expect(200);
      expect(json.body.openapi).toMatch(/^3\./);
      expect(Object.keys(json.body.paths)).toEqual(expect.arrayContaining(['/health', '/health/ready', '/me', '/system']));
      expect(json.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      const ui = await request(app.url).get('/docs').expect(200);
      expect(ui.text).toContain('swagger-ui');
    });

    it('sends security headers and hides the framework', async () => {
      const res = await request(app.url).get('/health');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['x-powered-by']).toBeUndefined();
    });
  });

  describe('on S3', () => {
    let s3: TestS3Server;
    let app: TestApp;
    beforeAll(async () => {
      s3 = await startS3Server();
      app = await createTestApp({ env: s3.env });
    });
    afterAll(async () => {
      await app.close();
      await s3.dispose();
    });

    it('is ready while the bucket answers, and says which dependency is down when it does not', async () => {
      const up = await request(app.url).get('/health/ready').expect(200);
      expect(up.body.details.blobStore).toEqual({ status: 'up', driver: 's3' });

      await s3.stop();
      const down = await request(app.url).get('/health/ready').expect(503);
      expect(down.body).toEqual({ code: 'SERVICE_UNAVAILABLE', message: 'A dependency is not reachable', details: ['blobStore'] });
      await request(app.url).get('/health').expect(200);

      await s3.restart();
      await request(app.url).get('/health/ready').expect(200);
    });
  });
});
