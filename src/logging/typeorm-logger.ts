import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { safeErrorText } from './logger';

/** At most this much of a statement's shape is logged. */
const MAX_STATEMENT = 300;

/**
 * A statement as a shape: string, dollar-quoted and numeric literals replaced,
 * so values written into SQL text never reach the log (R5.1). Parameters are
 * never logged at all.
 */
export function statementShape(query: string): string {
  const shape = query
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, '?')
    .replace(/[EeBbXxUu]?&?'(?:[^']|'')*'/g, '?')
    .replace(/(?<![\w$."])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w"])/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
  return shape.length > MAX_STATEMENT ? `${shape.slice(0, MAX_STATEMENT)}…` : shape;
}

/**
 * TypeORM's own output (failed and slow queries, pool errors, migrations)
 * through the service log instead of the console: statements by shape,
 * parameters dropped, database errors reduced to their code and constraint.
 */
export class SafeTypeOrmLogger implements TypeOrmLogger {
  private readonly logger = new Logger('TypeORM');

  logQuery(): void {
    // Every statement would be noise; failures and slow ones are logged below.
  }

  logQueryError(error: string | Error, query: string): void {
    this.logger.error({ err: typeof error === 'string' ? new Error('query failed') : error, statement: statementShape(query) }, 'query failed');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ ms: time, statement: statementShape(query) }, 'slow query');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(String(message));
  }

  logMigration(message: string): void {
    this.logger.log(String(message));
  }

  /** Pool errors arrive here as "Postgres pool raised an error. <error>". */
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    // TypeORM's own sentences (pool errors hold PostgreSQL's text, which the scrubber reduces).
    const text = typeof message === 'string' ? message : safeErrorText(message);
    if (level === 'warn') this.logger.warn(text);
    else this.logger.log(text);
  }
}
