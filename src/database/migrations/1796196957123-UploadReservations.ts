import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What a pending upload may take from its customer's daily quota, so uploads at once cannot each see all of it. */
export class UploadReservations1796196957123 implements MigrationInterface {
  name = 'UploadReservations1796196957123';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD \"reserved_bytes\" bigint");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP COLUMN \"reserved_bytes\"");
  }
}
