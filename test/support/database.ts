import { randomBytes } from 'node:crypto';
import { databaseUrl, ENV, quoteIdent, withClient } from './postgres-server';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (npm test), which runs the global setup`);
  return value;
}

/** A database of its own for one test file: a copy of the migrated template, or empty. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = env(ENV.adminUrl);
  const name = `${env(ENV.prefix)}${randomBytes(5).toString('hex')}`;
  const template = options.empty ? 'template0' : env(ENV.template);
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`));
  return {
    name,
    url: databaseUrl(adminUrl, name),
    drop: () => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(() => undefined),
  };
}
