import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { MIGRATIONS } from '../../src/database/migrations';
import { runMigrationsLocked } from '../../src/database/run-migrations';

/** Environment the global setup hands to every test worker. */
export const ENV = {
  adminUrl: 'TEST_PG_ADMIN_URL',
  template: 'TEST_PG_TEMPLATE',
  prefix: 'TEST_PG_PREFIX',
} as const;

export { freePort } from './free-port';

/** A fresh directory the embedded server's 'postgres' user can traverse. */
export async function makeTempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-`));
  await chmod(dir, 0o755);
  return dir;
}

export async function startTestPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const dir = await makeTempDir('support-desk-test-pg');
  const embedded: EmbeddedDatabase = await startEmbeddedPostgres({
    dataDir: join(dir, 'postgres'),
    port: await freePort(),
    database: 'postgres',
  });
  return {
    adminUrl: embedded.adminUrl,
    stop: async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The connection used to create and drop test databases: DATABASE_URL's own
 * database (created first if it does not exist yet), never touched otherwise.
 */
export async function adminUrlFrom(databaseUrl: string): Promise<{ adminUrl: string; drop?: () => Promise<void> }> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    await client.end();
    return { adminUrl: databaseUrl };
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: database does not exist
  }
  // Created here, so dropped again at the end of the run.
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const maintenance = url.toString();
  await withClient(maintenance, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  return {
    adminUrl: databaseUrl,
    drop: () => withClient(maintenance, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function createMigratedTemplate(adminUrl: string, template: string): Promise<void> {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(template)}`));
  const dataSource = await new DataSource({
    type: 'postgres',
    url: databaseUrl(adminUrl, template),
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    logging: false,
  }).initialize();
  try {
    await runMigrationsLocked(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

export async function dropDatabasesWithPrefix(adminUrl: string, prefix: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${prefix}%`,
    ]);
    for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  });
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
