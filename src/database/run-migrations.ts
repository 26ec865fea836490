import type { DataSource, Migration } from 'typeorm';
import { ADVISORY_LOCKS } from './advisory-locks';

/**
 * Runs pending migrations under a session advisory lock: TypeORM's runner takes
 * none, and several instances may start at once against one database.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<Migration[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.migrations]);
    try {
      return await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.migrations]);
    }
  } finally {
    await runner.release();
  }
}
