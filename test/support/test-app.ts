import type { DynamicModule, ModuleMetadata, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { rm } from 'node:fs/promises';
import { AppModule } from '../../src/app.module';
import { Clock } from '../../src/clock/clock';
import { AppConfig } from '../../src/config/app-config';
import { configureApp } from '../../src/configure-app';
import type { Role } from '../../src/identity/principal';
import { TokenService } from '../../src/identity/token.service';
import { createLogger } from '../../src/logging/logger';
import { createTestDatabase, type TestDatabase } from './database';
import { LogCapture } from './log-capture';
import { makeTempDir } from './postgres-server';

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Extra modules for the test (probes); the app itself is always the real AppModule. */
  imports?: (Type | DynamicModule)[];
  controllers?: ModuleMetadata['controllers'];
  providers?: ModuleMetadata['providers'];
  /** Use this database instead of a fresh copy of the template. */
  database?: TestDatabase;
  /** Replaces the system clock (retention, expiry). */
  clock?: Clock;
}

export interface TestApp {
  app: NestExpressApplication;
  url: string;
  config: AppConfig;
  database: TestDatabase;
  logs: LogCapture;
  dataDir: string;
  token(role: Role, subject?: string, extra?: { locale?: string }): Promise<string>;
  close(): Promise<void>;
}

export const RAISED_LIMITS: Record<string, string> = {
  RATE_LIMIT_PER_MINUTE: '1000000',
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
  SOCKETS_PER_PRINCIPAL_MAX: '10000',
  OPEN_CONVERSATIONS_PER_CUSTOMER_MAX: '10000',
  CONSENT_REQUEST_COOLDOWN_SECONDS: '0',
  CONSENT_REQUESTS_PER_CONVERSATION_MAX: '1000',
};

/** Boots the real AppModule on a database of its own, listening on a random local port. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = await makeTempDir('support-desk-data');
  const config = AppConfig.fromEnv({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'debug',
    // Suites act as a few principals many times over; the limits and caps are tested at their defaults in test/abuse.
    ...RAISED_LIMITS,
    ...options.env,
  });
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const builder = Test.createTestingModule({
    imports: [AppModule.register({ config, databaseUrl: database.url, logger }), ...(options.imports ?? [])],
    controllers: options.controllers,
    providers: options.providers,
  });
  if (options.clock) builder.overrideProvider(Clock).useValue(options.clock);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true, rawBody: true });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const tokens = app.get(TokenService);
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    config,
    database,
    logs,
    dataDir,
    token: (role, subject = `${role}-1`, extra = {}) => tokens.mint({ subject, roles: [role], ...extra }),
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
