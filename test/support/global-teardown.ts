import { dropDatabasesWithPrefix, ENV } from './postgres-server';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env[ENV.adminUrl];
  const prefix = process.env[ENV.prefix];
  if (adminUrl && prefix) await dropDatabasesWithPrefix(adminUrl, prefix);
  await globalThis.__testPostgres?.stop();
}
