import { NestFactory } from '@nestjs/core';
import Table from 'cli-table3';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { resolveDatabase } from '../bootstrap';
import { loadConfigOrExit } from '../config/load-config';
import { createLogger } from '../logging/logger';

/**
 * The service's own module graph for a one-off command, against the
 * configured database (migrated first) and store, without its schedules,
 * listeners or sockets. Closes everything, the embedded PostgreSQL too.
 */
export async function withAppContext<T>(work: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const config = loadConfigOrExit();
  const logger = createLogger('warn');
  const database = await resolveDatabase(config, logger, { attach: true });
  try {
    const app = await NestFactory.createApplicationContext(
      AppModule.register({ config, databaseUrl: database.url, logger, runMigrations: true, startupTasks: false }),
      { logger: false },
    );
    const dataSource = app.get(DataSource);
    try {
      return await work(app);
    } finally {
      await app.close();
      // The pool must be gone before the embedded PostgreSQL stops.
      if (dataSource.isInitialized) await dataSource.destroy();
    }
  } finally {
    await database.embedded?.stop();
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A summary table; plain (no colours) when the output is not a terminal (a file, a pipe, a log). */
export function summaryTable(head: string[]): InstanceType<typeof Table> {
  return new Table({ head, ...(process.stdout.isTTY ? {} : { style: { head: [], border: [] } }) });
}
