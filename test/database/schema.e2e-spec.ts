import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/database.module';
import { MIGRATIONS } from '../../src/database/migrations';
import { runMigrationsLocked } from '../../src/database/run-migrations';
import { schemaDiff } from '../../src/database/schema-diff';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { runScript } from '../support/service-process';
import { createTestApp } from '../support/test-app';

describe('database schema', () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase({ empty: true });
  });
  afterEach(() => database.drop());

  it('is built by migrations at start-up and matches the entities (no synchronize)', async () => {
    const app = await createTestApp({ database });
    try {
      const dataSource = app.app.get(DataSource);
      expect(dataSource.options.synchronize).toBe(false);
      const applied = await dataSource.query<{ name: string }[]>('SELECT name FROM schema_migrations ORDER BY id');
      expect(applied.map((r) => r.name)).toEqual(MIGRATIONS.map((M) => new M().name ?? M.name));
      const diff = await schemaDiff(dataSource);
      // When this fails: npm run migration:generate -- <Name>, then read the file it wrote.
      expect(diff.up).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('lets several instances start at once: migrations run under an advisory lock, once', async () => {
    const sources = await Promise.all(
      [1, 2, 3].map(() => new DataSource({ ...dataSourceOptions(database.url, 2), logging: false }).initialize()),
    );
    try {
      const ran = await Promise.all(sources.map((s) => runMigrationsLocked(s)));
      expect(ran.reduce((n, r) => n + r.length, 0)).toBe(MIGRATIONS.length);
      const [{ n }] = await sources[0].query<{ n: string }[]>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(n)).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
    }
  });

  it('npm run migration:check passes on a migrated database', async () => {
    const run = runScript('cli/db.js', ['run'], { DATABASE_URL: database.url });
    expect(await run.exited).toBe(0);
    const check = runScript('cli/db.js', ['check'], { DATABASE_URL: database.url });
    expect(await check.exited).toBe(0);
    expect(check.stdout()).toBe('schema matches the entities\n');
  });
});
