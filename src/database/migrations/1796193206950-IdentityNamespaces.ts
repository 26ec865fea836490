import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Token subjects and the phone system's callers in separate namespaces (a token could name `caller:<hash>`). */
export class IdentityNamespaces1796193206950 implements MigrationInterface {
  name = 'IdentityNamespaces1796193206950';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DROP INDEX \"public\".\"UQ_customers_subject\"");
    await queryRunner.query("ALTER TABLE \"customers\" ADD \"subject_source\" text NOT NULL DEFAULT 'token'");
    // Rows the phone system created carry the number's hash; no token ever sets it.
    await queryRunner.query("UPDATE \"customers\" SET \"subject_source\" = 'phone' WHERE \"phone_hash\" IS NOT NULL AND \"subject\" LIKE 'caller:%'");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_customers_source_subject\" ON \"customers\"  (\"subject_source\", \"subject\") ");
    await queryRunner.query("ALTER TABLE \"customers\" ADD CONSTRAINT \"CHK_customers_subject_source\" CHECK (\"subject_source\" IN ('token', 'phone'))");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"customers\" DROP CONSTRAINT \"CHK_customers_subject_source\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_customers_source_subject\"");
    // A token row and a caller row with the same subject cannot share one namespace again: down refuses rather than merge them.
    await queryRunner.query("ALTER TABLE \"customers\" DROP COLUMN \"subject_source\"");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_customers_subject\" ON \"customers\" USING btree (\"subject\") ");
  }
}
