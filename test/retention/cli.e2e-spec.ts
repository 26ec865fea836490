import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { withClient } from '../support/postgres-server';
import { runScript } from '../support/service-process';
import { createTestApp } from '../support/test-app';

describe('npm run purge / npm run retention (the command line)', () => {
  let database: TestDatabase;
  let dataDir: string;
  let artifactId: string;
  const env = () => ({ DATABASE_URL: database.url, DATA_DIR: dataDir });

  beforeAll(async () => {
    database = await createTestDatabase();
    // Data made by the service itself: one attachment, then its time is made up.
    const app = await createTestApp({ database });
    dataDir = app.dataDir;
    const customer = await app.token('customer', 'cust-cli');
    const conversation = (await request(app.url).post('/conversations').set('Authorization', `Bearer ${customer}`).expect(201)).body as { id: string };
    const boundary = `----sd${randomBytes(8).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n`),
      Buffer.from('hello\n'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    artifactId = (
      await request(app.url)
        .post(`/conversations/${conversation.id}/attachments`)
        .set('Authorization', `Bearer ${customer}`)
        .set('content-type', `multipart/form-data; boundary=${boundary}`)
        .send(body)
        .expect(201)
    ).body.id as string;
    // Closed (the attachment's clock counts from the close), and its time up.
    await withClient(database.url, async (c) => {
      await c.query(`UPDATE conversations SET status = 'closed', closed_at = now() - interval '2 days' WHERE id = $1`, [conversation.id]);
      await c.query(`UPDATE artifacts SET retain_until = now() - interval '1 day' WHERE id = $1`, [artifactId]);
    });
    // Keep the data directory (the filesystem store) after the app closes: the commands use it.
    await app.app.close();
  });
  afterAll(async () => {
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reports what is stored per tag and what is overdue', async () => {
    const report = runScript('cli/retention.js', ['report'], env());
    expect(await report.exited).toBe(0);
    expect(report.stdout()).toMatch(/Retention report at /);
    expect(report.stdout()).toMatch(/support_chat/);
    expect(report.stdout()).toMatch(/Overdue \(past retain_until, not purged\): 1\n.*it waits for the next purge run/);
  });

  it('shows a dry run, then purges, with a summary table', async () => {
    const dry = runScript('cli/purge.js', ['--dry-run'], env());
    expect(await dry.exited).toBe(0);
    expect(dry.stdout()).toMatch(/Purge \(dry run: nothing changed\)/);
    expect(dry.stdout()).toMatch(/attachment\s*│\s*support\s*│\s*support_chat\s*│\s*1/);
    const state = async () => (await withClient(database.url, (c) => c.query<{ state: string }>(`SELECT state FROM artifacts WHERE id = $1`, [artifactId]))).rows[0].state;
    expect(await state()).toBe('stored');

    const real = runScript('cli/purge.js', [], env());
    expect(await real.exited).toBe(0);
    expect(real.stdout()).toMatch(/completed/);
    expect(await state()).toBe('purged');
  });

  it('reconciles from the shell: a dry run reports, the real one repairs', async () => {
    // An object no row points at, in the service's layout, under the filesystem store the commands use.
    const orphanKey = `support/ab/ab000000-0000-4000-8000-000000000000`;
    const path = join(dataDir, 'blobs', 'objects', ...orphanKey.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'left behind');
    const dry = runScript('cli/purge.js', ['--reconcile', '--dry-run'], env());
    expect(await dry.exited).toBe(0);
    expect(dry.stdout()).toMatch(/Reconcile \(dry run: nothing changed\)/);
    expect(dry.stdout()).toMatch(/objects without a row\s*│\s*1/);
    await expect(stat(path)).resolves.toBeDefined();
    const real = runScript('cli/purge.js', ['--reconcile'], env());
    expect(await real.exited).toBe(0);
    expect(real.stdout()).toMatch(/orphans deleted\s*│\s*1/);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses bad arguments with its usage', async () => {
    const bad = runScript('cli/purge.js', ['--max', '0'], env());
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/Usage: npm run purge/);
    const unknown = runScript('cli/retention.js', ['everything'], env());
    expect(await unknown.exited).toBe(2);
  });
});
