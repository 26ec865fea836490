import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { SafeTypeOrmLogger } from '../logging/typeorm-logger';
import { MIGRATIONS } from './migrations';
import { runMigrationsLocked } from './run-migrations';

export interface DatabaseModuleOptions {
  url: string;
  /** False for tooling that manages migrations itself (the db CLI). */
  runMigrations: boolean;
}

export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    // The schema changes only through migrations (design invariant 8).
    synchronize: false,
    migrationsRun: false,
    // TypeORM's console logger prints failed queries with their parameters, outside the service log (R5.1).
    logger: new SafeTypeOrmLogger(),
    logging: ['error', 'warn', 'migration'],
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
    applicationName: 'support-desk',
    // gen_random_uuid() is built into PostgreSQL 13+: no extension, no superuser needed.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
  };
}

@Module({})
export class DatabaseModule {
  static register(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(options.url, config.database.poolSize),
            autoLoadEntities: true,
          }),
          dataSourceFactory: async (dsOptions) => {
            const dataSource = await new DataSource(dsOptions!).initialize();
            if (options.runMigrations) {
              const ran = await runMigrationsLocked(dataSource);
              new Logger('Database').log(`migrations applied: ${ran.length}`);
            }
            return dataSource;
          },
        }),
      ],
    };
  }
}
