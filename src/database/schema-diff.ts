import type { DataSource } from 'typeorm';

export interface SchemaDiff {
  up: string[];
  down: string[];
}

/** The SQL that would bring the database in line with the entities: empty when they agree. */
export async function schemaDiff(dataSource: DataSource): Promise<SchemaDiff> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return {
    up: log.upQueries.map((q) => withParameters(q.query, q.parameters)),
    down: log.downQueries.map((q) => withParameters(q.query, q.parameters)).reverse(),
  };
}

function withParameters(query: string, parameters?: unknown[]): string {
  if (!parameters?.length) return query;
  return parameters.reduce<string>(
    (sql, value, i) => sql.replace(`$${i + 1}`, typeof value === 'string' ? `'${value.replace(/'/g, "''")}'` : String(value)),
    query,
  );
}
