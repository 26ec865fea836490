import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Chat message bodies follow their conversation's transcript tag: erased by the purge, noted per conversation. */
export class EraseMessageBodies1795614845214 implements MigrationInterface {
  name = 'EraseMessageBodies1795614845214';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"conversations\" ADD \"bodies_erased_at\" TIMESTAMP WITH TIME ZONE");
    await queryRunner.query(`CREATE INDEX "IDX_conversations_erasable" ON "conversations" ("closed_at") WHERE "status" = 'closed' AND "bodies_erased_at" IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_conversations_erasable"`);
    await queryRunner.query("ALTER TABLE \"conversations\" DROP COLUMN \"bodies_erased_at\"");
  }
}
