import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { AppConfig } from './config/app-config';
import { ArtifactsModule } from './artifacts/artifacts.module';
import { AuditModule } from './audit/audit.module';
import { ClockModule } from './clock/clock.module';
import { ConfigModule } from './config/config.module';
import { ConsentModule } from './consent/consent.module';
import { ConversationsModule } from './conversations/conversations.module';
import { DatabaseModule } from './database/database.module';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { HealthModule } from './health/health.module';
import { IdentityModule } from './identity/identity.module';
import { httpLoggingOptions } from './logging/logger';
import { StorageModule } from './storage/storage.module';
import { PurgeModule } from './retention/purge.module';
import { RetentionModule } from './retention/retention.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RuntimeOptions } from './runtime-options';
import { SystemModule } from './system/system.module';
import { TelephonyModule } from './telephony/telephony.module';

export interface AppRuntime {
  config: AppConfig;
  /** The database to use: DATABASE_URL, or the embedded server the launcher started. */
  databaseUrl: string;
  logger: PinoLogger;
  /** False for tooling that manages migrations itself. */
  runMigrations?: boolean;
  /** Start-up work and background jobs (text publishing, schedules, listeners); default: as runMigrations. */
  startupTasks?: boolean;
}

@Module({})
class RuntimeOptionsModule {}

@Module({})
export class AppModule {
  static register(runtime: AppRuntime): DynamicModule {
    const runtimeOptions = { provide: RuntimeOptions, useValue: new RuntimeOptions(runtime.startupTasks ?? runtime.runMigrations ?? true) };
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(runtime.config),
        LoggerModule.forRoot({ pinoHttp: httpLoggingOptions(runtime.logger) }),
        DatabaseModule.register({ url: runtime.databaseUrl, runMigrations: runtime.runMigrations ?? true }),
        StorageModule,
        IdentityModule,
        RateLimitModule,
        HealthModule,
        SystemModule,
        ClockModule,
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        ConversationsModule,
        ConsentModule,
        TelephonyModule,
        AuditModule,
        RetentionModule,
        ArtifactsModule,
        PurgeModule,
        { module: RuntimeOptionsModule, global: true, providers: [runtimeOptions], exports: [RuntimeOptions] },
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
