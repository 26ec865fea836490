import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { AppConfig } from './config/app-config';
import { ClockModule } from './clock/clock.module';
import { ConfigModule } from './config/config.module';
import { ConversationsModule } from './conversations/conversations.module';
import { DatabaseModule } from './database/database.module';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { HealthModule } from './health/health.module';
import { IdentityModule } from './identity/identity.module';
import { httpLoggingOptions } from './logging/logger';
import { StorageModule } from './storage/storage.module';
import { SystemModule } from './system/system.module';

export interface AppRuntime {
  config: AppConfig;
  /** The database to use: DATABASE_URL, or the embedded server the launcher started. */
  databaseUrl: string;
  logger: PinoLogger;
  /** False for tooling that manages migrations itself. */
  runMigrations?: boolean;
}

@Module({})
export class AppModule {
  static register(runtime: AppRuntime): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(runtime.config),
        LoggerModule.forRoot({ pinoHttp: httpLoggingOptions(runtime.logger) }),
        DatabaseModule.register({ url: runtime.databaseUrl, runMigrations: runtime.runMigrations ?? true }),
        StorageModule,
        IdentityModule,
        HealthModule,
        SystemModule,
        ClockModule,
        EventEmitterModule.forRoot(),
        ConversationsModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
