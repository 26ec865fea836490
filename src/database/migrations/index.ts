import type { MigrationInterface } from 'typeorm';

/**
 * Every migration, oldest first. `npm run migration:generate -- <Name>` adds
 * new files here; the schema test fails when entities and migrations disagree.
 */
export const MIGRATIONS: (new () => MigrationInterface)[] = [];
