import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Legal holds (R10.3), and what each retention policy covers (R10.1): the
 * artifact kinds (`chat_message` for message bodies, `call_metadata` for
 * call records) and purposes whose items carry its tag.
 */
const COVERS: Array<[tag: string, kinds: string[], purposes: string[]]> = [
  ['diagnostics', ['diagnostics_bundle'], ['diagnostics']],
  ['support_chat', ['attachment', 'chat_transcript', 'chat_message'], ['support']],
  ['quality_review', ['chat_transcript'], ['chat_recording']],
  ['call_recording', ['call_recording'], ['call_recording']],
  ['call_transcript', ['call_transcript'], ['transcription']],
  ['call_metadata', ['call_metadata'], ['support']],
  ['customer_profile', [], ['customer_profile']],
];

export class RetentionHolds1795614251604 implements MigrationInterface {
  name = 'RetentionHolds1795614251604';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"legal_holds\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"scope\" text NOT NULL, \"customer_id\" uuid, \"conversation_id\" uuid, \"artifact_id\" uuid, \"reason\" text NOT NULL, \"placed_by\" uuid NOT NULL, \"placed_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"ends_at\" TIMESTAMP WITH TIME ZONE, \"released_by\" uuid, \"released_at\" TIMESTAMP WITH TIME ZONE, \"release_reason\" text, CONSTRAINT \"CHK_legal_holds_reason\" CHECK (length(trim(\"reason\")) >= 3), CONSTRAINT \"CHK_legal_holds_released\" CHECK ((\"released_at\" IS NULL) = (\"released_by\" IS NULL)), CONSTRAINT \"CHK_legal_holds_target\" CHECK ((\"scope\" = 'subject' AND \"customer_id\" IS NOT NULL AND \"conversation_id\" IS NULL AND \"artifact_id\" IS NULL)\n   OR (\"scope\" = 'conversation' AND \"conversation_id\" IS NOT NULL AND \"customer_id\" IS NULL AND \"artifact_id\" IS NULL)\n   OR (\"scope\" = 'artifact' AND \"artifact_id\" IS NOT NULL AND \"customer_id\" IS NULL AND \"conversation_id\" IS NULL)), CONSTRAINT \"CHK_legal_holds_scope\" CHECK (\"scope\" IN ('subject', 'conversation', 'artifact')), CONSTRAINT \"PK_bbe3e0c98678909493a90442dfb\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_legal_holds_artifact\" ON \"legal_holds\"  (\"artifact_id\") WHERE \"released_at\" IS NULL");
    await queryRunner.query("CREATE INDEX \"IDX_legal_holds_conversation\" ON \"legal_holds\"  (\"conversation_id\") WHERE \"released_at\" IS NULL");
    await queryRunner.query("CREATE INDEX \"IDX_legal_holds_customer\" ON \"legal_holds\"  (\"customer_id\") WHERE \"released_at\" IS NULL");
    await queryRunner.query("ALTER TABLE \"retention_policies\" ADD \"kinds\" text array NOT NULL DEFAULT '{}'");
    await queryRunner.query("ALTER TABLE \"retention_policies\" ADD \"purposes\" text array NOT NULL DEFAULT '{}'");
    await queryRunner.query("ALTER TABLE \"legal_holds\" ADD CONSTRAINT \"FK_legal_holds_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"legal_holds\" ADD CONSTRAINT \"FK_legal_holds_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"legal_holds\" ADD CONSTRAINT \"FK_legal_holds_artifact\" FOREIGN KEY (\"artifact_id\") REFERENCES \"artifacts\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    for (const [tag, kinds, purposes] of COVERS) {
      await queryRunner.query(`UPDATE retention_policies SET kinds = $2, purposes = $3 WHERE tag = $1`, [tag, kinds, purposes]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"legal_holds\" DROP CONSTRAINT \"FK_legal_holds_artifact\"");
    await queryRunner.query("ALTER TABLE \"legal_holds\" DROP CONSTRAINT \"FK_legal_holds_conversation\"");
    await queryRunner.query("ALTER TABLE \"legal_holds\" DROP CONSTRAINT \"FK_legal_holds_customer\"");
    await queryRunner.query("ALTER TABLE \"retention_policies\" DROP COLUMN \"purposes\"");
    await queryRunner.query("ALTER TABLE \"retention_policies\" DROP COLUMN \"kinds\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_legal_holds_customer\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_legal_holds_conversation\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_legal_holds_artifact\"");
    await queryRunner.query("DROP TABLE \"legal_holds\"");
  }
}
