import { adminUrlFrom, createMigratedTemplate, ENV, startTestPostgres } from './postgres-server';

declare global {
  var __testPostgres: { stop(): Promise<void> } | undefined;
}

/**
 * One PostgreSQL for the whole run (DATABASE_URL's server, or an embedded one),
 * migrated once into a template database; each test file copies it (fast, isolated).
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    const admin = await adminUrlFrom(process.env.DATABASE_URL);
    adminUrl = admin.adminUrl;
    globalThis.__testPostgres = admin.drop && { stop: admin.drop };
  } else {
    const server = await startTestPostgres();
    globalThis.__testPostgres = server;
    adminUrl = server.adminUrl;
  }
  const prefix = `sdtest_${process.pid.toString(36)}_${Date.now().toString(36)}_`;
  const template = `${prefix}template`;
  await createMigratedTemplate(adminUrl, template);
  process.env[ENV.adminUrl] = adminUrl;
  process.env[ENV.template] = template;
  process.env[ENV.prefix] = prefix;
}
