import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The purge: a record per run, and what a purged artifact keeps (a
 * content-free tombstone, enforced by CHK_artifacts_tombstone) and why it went.
 */
export class Purge1795614481802 implements MigrationInterface {
  name = 'Purge1795614481802';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"purge_runs\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"instance\" text NOT NULL, \"trigger\" text NOT NULL, \"dry_run\" boolean NOT NULL, \"status\" text NOT NULL, \"started_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"finished_at\" TIMESTAMP WITH TIME ZONE, \"items_purged\" integer NOT NULL DEFAULT '0', \"bytes_purged\" bigint NOT NULL DEFAULT '0', \"totals\" jsonb NOT NULL DEFAULT '[]', \"failures\" jsonb NOT NULL DEFAULT '[]', \"items_held\" integer NOT NULL DEFAULT '0', CONSTRAINT \"CHK_purge_runs_status\" CHECK (\"status\" IN ('running', 'completed', 'partial', 'failed', 'skipped')), CONSTRAINT \"CHK_purge_runs_trigger\" CHECK (\"trigger\" IN ('schedule', 'command', 'withdrawal')), CONSTRAINT \"PK_fb2a694e66365814a5e1b915e38\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_purge_runs_started\" ON \"purge_runs\"  (\"started_at\") ");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD \"purge_reason\" text");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD \"purged_at\" TIMESTAMP WITH TIME ZONE");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD \"purge_run_id\" uuid");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_purge_now\" ON \"artifacts\"  (\"purge_reason\") WHERE \"state\" = 'stored' AND \"purge_reason\" IS NOT NULL");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"CHK_artifacts_purge_reason\" CHECK (\"purge_reason\" IS NULL OR \"purge_reason\" IN ('retention', 'consent_withdrawn', 'erasure', 'object_missing'))");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"CHK_artifacts_tombstone\" CHECK (\"state\" <> 'purged' OR (\"storage_key\" IS NULL AND \"file_name\" IS NULL AND \"sha256\" IS NULL AND \"source_ref\" IS NULL AND \"captured_by_id\" IS NULL AND \"attributes\" = '{}'::jsonb AND \"purged_at\" IS NOT NULL))");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"CHK_artifacts_tombstone\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"CHK_artifacts_purge_reason\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_purge_now\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP COLUMN \"purge_run_id\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP COLUMN \"purged_at\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP COLUMN \"purge_reason\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_purge_runs_started\"");
    await queryRunner.query("DROP TABLE \"purge_runs\"");
  }
}
