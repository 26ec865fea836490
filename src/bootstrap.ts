import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { configureApp } from './configure-app';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './database/embedded-postgres';
import { createLogger } from './logging/logger';
import { routeDebugOutput, routeProcessOutput } from './logging/process-output';

export const EMBEDDED_DATABASE_NAME = 'support_desk';

@Module({})
class ServiceWithExtras {}

export interface RunningService {
  app: NestExpressApplication;
  logger: Logger;
  /** Base URL the HTTP server listens on. */
  url: string;
  embedded?: EmbeddedDatabase;
  /** Closes HTTP, sockets and the database pool, then stops the embedded PostgreSQL. */
  close(): Promise<void>;
}

/** The database to use: DATABASE_URL as given, or a real PostgreSQL started under DATA_DIR. */
/** `attach`: a one-off command may use the embedded PostgreSQL a running service started (never the service itself). */
export async function resolveDatabase(
  config: AppConfig,
  logger: Logger,
  options: { attach?: boolean } = {},
): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.database.url) return { url: config.database.url };
  const settings = config.database.embedded!;
  const started = Date.now();
  const embedded = await startEmbeddedPostgres({
    dataDir: settings.dataDir,
    port: settings.port,
    database: EMBEDDED_DATABASE_NAME,
    attach: options.attach ?? false,
    log: (message) => logger.debug({ component: 'postgres' }, message),
  });
  logger.info(
    { component: 'postgres', port: settings.port, dataDir: settings.dataDir, ms: Date.now() - started },
    embedded.initialised ? 'embedded PostgreSQL initialised and started' : 'embedded PostgreSQL started on existing data',
  );
  return { url: embedded.url, embedded };
}

export interface StartOptions {
  logStream?: DestinationStream;
  /** Extra modules next to the app (benchmark probes); the service itself never passes any. */
  imports?: Array<Type | DynamicModule>;
}

export async function startService(config: AppConfig, options: StartOptions = {}): Promise<RunningService> {
  const logger = createLogger(config.logLevel, options.logStream);
  // The process's own output (warnings, crashes, libraries' debug lines) goes through the logger too (R5.1).
  if (!options.logStream) routeProcessOutput(logger);
  const { url: databaseUrl, embedded } = await resolveDatabase(config, logger);
  try {
    const root = AppModule.register({ config, databaseUrl, logger });
    const app = await NestFactory.create<NestExpressApplication>(
      options.imports?.length ? { module: ServiceWithExtras, imports: [root, ...options.imports] } : root,
      { bufferLogs: true, rawBody: true },
    );
    configureApp(app);
    // Copies of `debug` loaded with the app's modules.
    if (!options.logStream) routeDebugOutput(logger);
    const dataSource = app.get(DataSource);
    await app.listen(config.http.port, config.http.host);
    const address = app.getHttpServer().address() as { port: number };
    const host = ['0.0.0.0', '::', '', '127.0.0.1'].includes(config.http.host) ? 'localhost' : config.http.host;
    const url = `http://${host}:${address.port}`;
    if (config.auth.demoSecret) {
      logger.warn(
        'the published demo secret signs tokens here: anyone who knows it can mint any role, so the service listens on loopback only (set JWT_SECRET or OIDC_ISSUER to listen elsewhere)',
      );
    }
    let closing: Promise<void> | undefined;
    return {
      app,
      logger,
      url,
      embedded,
      close: () =>
        (closing ??= (async () => {
          await app.close();
          // The pool must be gone before the embedded PostgreSQL stops, or its idle clients are cut off.
          if (dataSource.isInitialized) await dataSource.destroy();
          await embedded?.stop();
        })()),
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
