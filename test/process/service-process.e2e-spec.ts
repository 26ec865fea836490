import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../../src/config/app-config';
import { DEMO_JWT_SECRET } from '../../src/config/environment';
import { TokenService } from '../../src/identity/token.service';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { freePort, makeTempDir, withClient } from '../support/postgres-server';
import { runScript, startService, waitFor } from '../support/service-process';
import { waitUntil } from '../support/wait-until';

/**
 * The README's promise, run as a newcomer would: the compiled service as a
 * process of its own, started with `node dist/main.js` and stopped with SIGTERM.
 */
describe('the service as a process', () => {
  jest.setTimeout(120_000);
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await makeTempDir('support-desk-process');
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('starts on embedded defaults, gives demo tokens, stops cleanly on SIGTERM and finds its data again', async () => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_PG_PORT: String(await freePort()) };
    const base = `http://127.0.0.1:${port}`;

    const first = startService(env);
    const ms = await waitFor(`${base}/health/ready`, first);
    expect(ms).toBeLessThan(60_000);
    expect(first.stdout()).toContain('embedded PostgreSQL initialised and started');
    expect(first.stdout()).toContain(`listening on http://localhost:${port}`);
    // stdout is no terminal here (it is a log): the tokens are in a file only this user reads, never in the output (R5.1).
    const tokensFile = join(dataDir, 'demo-tokens.txt');
    await waitUntil(() => Promise.resolve(first.stdout().includes(tokensFile)), 'the demo tokens file named');
    expect(first.stdout()).not.toMatch(/eyJ/);
    expect((await stat(tokensFile)).mode & 0o777).toBe(0o600);
    const agentToken = /agent\s+(eyJ\S+)/.exec(await readFile(tokensFile, 'utf8'))?.[1];
    expect(agentToken).toBeDefined();
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${agentToken}` } });
    expect(await me.json()).toEqual({ kind: 'staff', subject: 'demo-agent', roles: ['agent'] });

    // Leave something behind in the embedded database.
    const password = (await readFile(join(dataDir, '.postgres-password'), 'utf8')).trim();
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.EMBEDDED_PG_PORT}/support_desk`;
    await withClient(url, async (c) => {
      await c.query('CREATE TABLE left_behind (note text)');
      await c.query(`INSERT INTO left_behind VALUES ('still here')`);
    });

    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');
    expect(first.stderr()).toBe('');
    // PostgreSQL is down with the app.
    await expect(withClient(url, (c) => c.query('SELECT 1'))).rejects.toThrow();

    const second = startService(env);
    await waitFor(`${base}/health/ready`, second);
    expect(second.stdout()).toContain('embedded PostgreSQL started on existing data');
    const { rows } = await withClient(url, (c) => c.query<{ note: string }>('SELECT note FROM left_behind'));
    expect(rows).toEqual([{ note: 'still here' }]);
    // The README's commands work beside the running service: they use its PostgreSQL and leave it running.
    const report = runScript('cli/retention.js', ['report'], env);
    expect(await report.exited).toBe(0);
    expect(report.stdout()).toMatch(/Retention report at /);
    expect(report.stdout()).not.toContain('\u001b['); // no colour codes when not a terminal
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    await withClient(url, (c) => c.query('SELECT 1'));
    // A second service on the same data is refused, with the reason; the first one goes on.
    const twin = startService({ ...env, PORT: String(await freePort()) });
    expect(await twin.exited).not.toBe(0);
    expect(twin.stdout() + twin.stderr()).toContain('another process runs the embedded PostgreSQL');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect(await second.stop('SIGINT')).toBe(0);
  });

  describe('with DATABASE_URL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ empty: true });
    });
    afterAll(() => database.drop());

    it('uses that database: migrates it, serves, and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const service = startService({ DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: database.url });
      await waitFor(`http://127.0.0.1:${port}/health/ready`, service);
      expect(service.stdout()).not.toContain('embedded PostgreSQL');
      expect(service.stdout()).toContain('migrations applied');
      const tables = await withClient(database.url, (c) =>
        c.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations'`),
      );
      expect(tables.rows[0].n).toBe('1');
      expect(await service.stop()).toBe(0);
      // No embedded cluster was created.
      await expect(readFile(join(dataDir, 'postgres', 'PG_VERSION'))).rejects.toThrow();
    });
  });

  it.each([
    [
      'production without JWT_SECRET',
      { NODE_ENV: 'production', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
      /^Configuration error: JWT_SECRET is required when NODE_ENV=production \(unless OIDC_ISSUER is set\) \(unset\)\n$/,
    ],
    [
      'production with the demo secret',
      { NODE_ENV: 'production', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', JWT_SECRET: DEMO_JWT_SECRET },
      /^Configuration error: JWT_SECRET is the published demo secret; set a secret of your own in production\n$/,
    ],
    [
      'STORAGE_DRIVER=s3 without a bucket',
      { STORAGE_DRIVER: 's3' },
      /^Configuration error: S3_BUCKET must be an S3 bucket name .*required when STORAGE_DRIVER=s3\) \(unset\)\n$/,
    ],
  ])('refuses to start: %s, with a one-line reason', async (_label, env, reason) => {
    const service = startService({ DATA_DIR: dataDir, ...env });
    expect(await service.exited).toBe(1);
    expect(service.stderr()).toMatch(reason);
    expect(service.stdout()).toBe('');
  });
});

describe('npm run token', () => {
  it('prints a token the service accepts for that role and subject', async () => {
    const cli = runScript('cli/token.js', ['--role', 'agent', '--sub', 'alice'], {});
    expect(await cli.exited).toBe(0);
    const token = cli.stdout().trim();
    const principal = await new TokenService(AppConfig.fromEnv({})).verify(token);
    expect(principal).toEqual({ kind: 'staff', subject: 'alice', roles: ['agent'] });
  });

  it('refuses an unknown role with usage', async () => {
    const cli = runScript('cli/token.js', ['--role', 'root', '--sub', 'x'], {});
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(/^unknown role: root\nUsage: npm run token/);
  });
});
