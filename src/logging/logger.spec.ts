import { QueryFailedError } from 'typeorm';
import { serverLogLines } from '../database/embedded-postgres';
import { safeErrorText, serializeError } from './logger';
import { statementShape } from './typeorm-logger';

/** What pg's DatabaseError carries: a message quoting the input, a detail with row values. */
function pgError(): Error {
  return Object.assign(new Error('invalid input syntax for type uuid: "jan@example.nl"'), {
    name: 'error',
    severity: 'ERROR',
    code: '22P02',
    detail: 'Key (email)=(jan@example.nl) already exists.',
    routine: 'string_to_uuid',
  });
}

describe('database errors in the log (R5.1)', () => {
  it('keep only code, constraint and place: not the message, detail, query or parameters', () => {
    const driverError = Object.assign(pgError(), { constraint: 'uq_customers_email' });
    const failed = new QueryFailedError('SELECT * FROM customers WHERE id = $1', ['jan@example.nl'], driverError);
    for (const err of [driverError, failed]) {
      const serialized = JSON.stringify(serializeError(err));
      expect(serialized).not.toMatch(/jan@example|Key \(|SELECT|invalid input/);
      expect(serializeError(err)).toMatchObject({ code: '22P02', constraint: 'uq_customers_email', message: 'database error 22P02' });
      expect(safeErrorText(err)).toBe('database error 22P02 (uq_customers_email)');
    }
  });

  it('keep an ordinary error as it is', () => {
    expect(serializeError(new Error('connect ECONNREFUSED'))).toMatchObject({ type: 'Error', message: 'connect ECONNREFUSED' });
  });

  it('log statements by shape, literals out', () => {
    expect(statementShape(`SELECT * FROM t WHERE a = 'jan@example.nl' AND b = 612345678 AND c = $1 AND d = $$x$$`)).toBe(
      'SELECT * FROM t WHERE a = ? AND b = ? AND c = $1 AND d = ?',
    );
    expect(statementShape(`INSERT INTO "t2" ("c1") VALUES (E'it''s')`)).toBe('INSERT INTO "t2" ("c1") VALUES (?)');
  });

  it("keep the embedded server's statements, details and error texts out", () => {
    const chunk = [
      '2026-11-25 10:00:00.000 UTC [77] ERROR:  duplicate key value violates unique constraint "uq"',
      '2026-11-25 10:00:00.000 UTC [77] DETAIL:  Key (email)=(jan@example.nl) already exists.',
      '2026-11-25 10:00:00.000 UTC [77] STATEMENT:  INSERT INTO customers VALUES ($1)',
      '[STDERR] 2026-11-25 10:00:01.000 UTC [70] LOG:  database system is ready to accept connections',
      '',
    ].join('\n');
    expect(serverLogLines(chunk)).toEqual([
      '2026-11-25 10:00:00.000 UTC [77] ERROR: (text left out)',
      '2026-11-25 10:00:01.000 UTC [70] LOG:  database system is ready to accept connections',
    ]);
  });
});
