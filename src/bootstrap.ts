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
  let app: NestExpressApplication | undefined;
  try {
    const root = AppModule.register({ config, databaseUrl, logger });
    app = await NestFactory.create<NestExpressApplication>(
      options.imports?.length ? { module: ServiceWithExtras, imports: [root, ...options.imports] } : root,
      { bufferLogs: true, rawBody: true },
    );
    configureApp(app);
    // Copies of `debug` loaded with the app's modules.
    if (!options.logStream) routeDebugOutput(logger);
    const dataSource = app.get(DataSource);
    await app.listen(config.http.port, config.http.host).catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
      // The address is the operator's own setting, but the log scrubber would mask it: say which setting to change.
      throw new Error(`port ${config.http.port} is already in use on this host; set PORT (or HOST) to another`);
    });
    const address = app.getHttpServer().address() as { port: number };
    const host = ['0.0.0.0', '::', '', '127.0.0.1'].includes(config.http.host) ? 'localhost' : config.http.host;
    const url = `http://${host}:${address.port}`;
    if (config.auth.demoSecret) {
      logger.warn(
        'the published demo secret signs tokens here: anyone who knows it can mint any role, so the service listens on loopback only (set JWT_SECRET or OIDC_ISSUER to listen elsewhere)',
      );
    }
    let closing: Promise<void> | undefined;
    const running = app;
    return {
      app: running,
      logger,
      url,
      embedded,
      close: () =>
        (closing ??= (async () => {
          await running.close();
          // The pool must be gone before the embedded PostgreSQL stops, or its idle clients are cut off.
          if (dataSource.isInitialized) await dataSource.destroy();
          await embedded?.stop();
        })()),
    };
  } catch (err) {
    // Connections first, then the server they point at (stopping PostgreSQL under an open pool alarms the log).
    await app?.close().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
}
