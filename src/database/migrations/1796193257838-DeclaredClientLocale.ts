import type { MigrationInterface, QueryRunner } from 'typeorm';

/** R2.1: a language the customer's app declared is kept apart from a browser's Accept-Language. */
export class DeclaredClientLocale1796193257838 implements MigrationInterface {
  name = 'DeclaredClientLocale1796193257838';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"customers\" ADD \"client_locale_declared\" boolean NOT NULL DEFAULT false");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"customers\" DROP COLUMN \"client_locale_declared\"");
  }
}
