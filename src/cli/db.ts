import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { resolveDatabase } from '../bootstrap';
import { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/environment';
import { runMigrationsLocked } from '../database/run-migrations';
import { schemaDiff } from '../database/schema-diff';
import { createLogger } from '../logging/logger';

const USAGE = `Usage: npm run db -- <command>
  run              apply pending migrations
  revert           undo the last applied migration
  show             list applied and pending migrations
  check            fail if there are pending migrations or entities differ from the schema
  generate <Name>  write a migration for the difference between entities and schema
Uses DATABASE_URL, or the embedded PostgreSQL under DATA_DIR when it is unset.`;

/** Source folder of the migrations (this file runs from dist/cli). */
const MIGRATIONS_DIR = join(__dirname, '..', '..', 'src', 'database', 'migrations');

async function main(argv: string[]): Promise<number> {
  const [command, name] = argv;
  if (!command || !['run', 'revert', 'show', 'check', 'generate'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === 'generate' && !/^[A-Z][A-Za-z0-9]{2,80}$/.test(name ?? '')) {
    process.stderr.write('generate needs a PascalCase name, e.g. npm run db -- generate AddConversations\n');
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = AppConfig.fromEnv(process.env);
  const logger = createLogger('warn');
  const database = await resolveDatabase(config, logger, { attach: true });
  // The app's own module graph, so the entity list cannot drift from what the service uses.
  const app = await NestFactory.createApplicationContext(
    AppModule.register({ config, databaseUrl: database.url, logger, runMigrations: false }),
    { logger: false },
  );
  try {
    return await execute(command, name, app.get(DataSource));
  } finally {
    await app.close();
    await database.embedded?.stop();
  }
}

async function execute(command: string, name: string | undefined, dataSource: DataSource): Promise<number> {
  switch (command) {
    case 'run': {
      const ran = await runMigrationsLocked(dataSource);
      process.stdout.write(ran.length ? ran.map((m) => `applied ${m.name}\n`).join('') : 'nothing to apply\n');
      return 0;
    }
    case 'revert': {
      await dataSource.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
      return 0;
    }
    case 'show': {
      const applied = new Set<string>(
        (await dataSource.query<{ name: string }[]>(`SELECT name FROM schema_migrations ORDER BY id`).catch(() => [])).map(
          (r) => r.name,
        ),
      );
      for (const m of dataSource.migrations) process.stdout.write(`${applied.has(m.name!) ? '[x]' : '[ ]'} ${m.name}\n`);
      return 0;
    }
    case 'check': {
      if (await dataSource.showMigrations()) {
        process.stderr.write('pending migrations: run `npm run migration:run` first\n');
        return 1;
      }
      const diff = await schemaDiff(dataSource);
      if (diff.up.length) {
        process.stderr.write(`entities and migrations disagree; missing SQL:\n${diff.up.join(';\n')};\n`);
        return 1;
      }
      process.stdout.write('schema matches the entities\n');
      return 0;
    }
    case 'generate': {
      await runMigrationsLocked(dataSource);
      const diff = await schemaDiff(dataSource);
      if (!diff.up.length) {
        process.stdout.write('no changes: entities and schema agree\n');
        return 0;
      }
      const file = await writeMigration(name!, diff);
      await writeIndex();
      process.stdout.write(`wrote ${file}; read it, then run npm run migration:run\n`);
      return 0;
    }
  }
  return 2;
}

async function writeMigration(name: string, diff: { up: string[]; down: string[] }): Promise<string> {
  const timestamp = Date.now();
  const className = `${name}${timestamp}`;
  const render = (queries: string[]) =>
    queries.map((q) => `    await queryRunner.query(${JSON.stringify(q)});`).join('\n');
  const source = `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  async up(queryRunner: QueryRunner): Promise<void> {
${render(diff.up)}
  }

  async down(queryRunner: QueryRunner): Promise<void> {
${render(diff.down)}
  }
}
`;
  const file = join(MIGRATIONS_DIR, `${timestamp}-${name}.ts`);
  await writeFile(file, source);
  return file;
}

/** Rewrites migrations/index.ts to list every migration file, oldest first. */
async function writeIndex(): Promise<void> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d+-[A-Za-z0-9]+\.ts$/.test(f)).sort();
  const entries = files.map((f) => {
    const [timestamp, name] = f.replace(/\.ts$/, '').split('-');
    return { module: `./${f.replace(/\.ts$/, '')}`, className: `${name}${timestamp}` };
  });
  const source = `import type { MigrationInterface } from 'typeorm';
${entries.map((e) => `import { ${e.className} } from '${e.module}';`).join('\n')}

/**
 * Every migration, oldest first. \`npm run migration:generate -- <Name>\` adds
 * new files here; the schema test fails when entities and migrations disagree.
 */
export const MIGRATIONS: (new () => MigrationInterface)[] = [${entries.map((e) => e.className).join(', ')}];
`;
  await writeFile(join(MIGRATIONS_DIR, 'index.ts'), source);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof ConfigError ? `Configuration error: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message}\n`);
    process.exit(1);
  },
);
