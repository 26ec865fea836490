import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Call records follow the call_metadata tag: the purge erases what identifies the caller and notes when. */
export class EraseCallMetadata1795616188956 implements MigrationInterface {
  name = 'EraseCallMetadata1795616188956';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"calls\" ADD \"erased_at\" TIMESTAMP WITH TIME ZONE");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"calls\" DROP COLUMN \"erased_at\"");
  }
}
