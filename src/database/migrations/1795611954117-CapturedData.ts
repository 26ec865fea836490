import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Captured data: the audit trail (append-only, hash-chained; the same
 * trigger as the consent ledger refuses changes), retention policies with
 * their defaults (R10.1), and artifacts: every captured item with purpose,
 * legal basis, retention tag, retain_until and state (design invariants 2, 5).
 */
const POLICIES: Array<[tag: string, duration: string, starts: string, description: string]> = [
  ['diagnostics', 'P30D', 'captured', 'Diagnostics bundles: long enough to solve the incident and see that the fix holds.'],
  ['support_chat', 'P12M', 'conversation_closed', 'Chat attachments, transcripts and message bodies: a year after close covers follow-up questions.'],
  ['quality_review', 'P6M', 'captured', 'Quality-review copies of chats: one review cycle.'],
  ['call_recording', 'P90D', 'captured', 'Call recordings: a quarter, for disputes about what was said.'],
  ['call_transcript', 'P90D', 'captured', 'Call transcripts: as long as the recording they were made from.'],
  ['call_metadata', 'P24M', 'conversation_closed', 'Call metadata: two years after close, for the support history.'],
  ['customer_profile', 'P24M', 'captured', 'The customer picture: two years after it was built or last updated.'],
];

export class CapturedData1795611954117 implements MigrationInterface {
  name = 'CapturedData1795611954117';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"audit_events\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"seq\" bigint NOT NULL, \"occurred_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"actor_kind\" text NOT NULL, \"actor_id\" uuid, \"actor_role\" text, \"action\" text NOT NULL, \"target_type\" text NOT NULL, \"target_id\" text NOT NULL, \"purpose\" text, \"reason\" text, \"outcome\" text NOT NULL, \"details\" jsonb NOT NULL DEFAULT '{}', \"prev_hash\" text NOT NULL, \"hash\" text NOT NULL, CONSTRAINT \"CHK_audit_events_hash\" CHECK (\"hash\" ~ '^[0-9a-f]{64}$' AND \"prev_hash\" ~ '^[0-9a-f]{64}$'), CONSTRAINT \"CHK_audit_events_outcome\" CHECK (\"outcome\" IN ('allowed', 'refused')), CONSTRAINT \"CHK_audit_events_actor_kind\" CHECK (\"actor_kind\" IN ('customer', 'staff', 'system', 'telephony')), CONSTRAINT \"PK_910f64d901a5c3e9878f0d4a407\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_audit_events_seq\" ON \"audit_events\"  (\"seq\") ");
    await queryRunner.query("CREATE INDEX \"IDX_audit_events_actor\" ON \"audit_events\"  (\"actor_id\", \"seq\") ");
    await queryRunner.query("CREATE INDEX \"IDX_audit_events_target\" ON \"audit_events\"  (\"target_type\", \"target_id\", \"seq\") ");
    await queryRunner.query("CREATE TABLE \"retention_policies\" (\"tag\" text NOT NULL, \"duration\" text NOT NULL, \"starts\" text NOT NULL, \"description\" text NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_retention_policies_starts\" CHECK (\"starts\" IN ('captured', 'conversation_closed')), CONSTRAINT \"CHK_retention_policies_duration\" CHECK (\"duration\" ~ '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?$'), CONSTRAINT \"CHK_retention_policies_tag\" CHECK (\"tag\" ~ '^[a-z][a-z0-9_]{1,39}$'), CONSTRAINT \"PK_1af2f1b8bb4e9ef07e8555a843c\" PRIMARY KEY (\"tag\"))");
    await queryRunner.query("CREATE TABLE \"artifacts\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"kind\" text NOT NULL, \"conversation_id\" uuid NOT NULL, \"customer_id\" uuid NOT NULL, \"purpose\" text NOT NULL, \"legal_basis\" text NOT NULL, \"consent_event_id\" uuid, \"retention_tag\" text NOT NULL, \"retain_until\" TIMESTAMP WITH TIME ZONE NOT NULL, \"state\" text NOT NULL DEFAULT 'pending', \"storage_key\" text, \"size\" bigint, \"sha256\" text, \"content_type\" text, \"file_name\" text, \"source_ref\" text, \"attributes\" jsonb NOT NULL DEFAULT '{}', \"captured_by_kind\" text NOT NULL, \"captured_by_id\" uuid, \"captured_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"stored_at\" TIMESTAMP WITH TIME ZONE, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_artifacts_stored\" CHECK (\"state\" <> 'stored' OR (\"storage_key\" IS NOT NULL AND \"size\" IS NOT NULL AND \"sha256\" IS NOT NULL)), CONSTRAINT \"CHK_artifacts_captured_by_kind\" CHECK (\"captured_by_kind\" IN ('customer', 'staff', 'system', 'telephony')), CONSTRAINT \"CHK_artifacts_legal_basis\" CHECK ((\"legal_basis\" = 'contract' AND \"consent_event_id\" IS NULL) OR (\"legal_basis\" = 'consent' AND \"consent_event_id\" IS NOT NULL)), CONSTRAINT \"CHK_artifacts_state\" CHECK (\"state\" IN ('pending', 'stored', 'purging', 'purged')), CONSTRAINT \"CHK_artifacts_kind\" CHECK (\"kind\" IN ('chat_transcript', 'attachment', 'diagnostics_bundle', 'call_recording', 'call_transcript')), CONSTRAINT \"PK_6516bbed3c129918e05c5012edb\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_artifacts_storage_key\" ON \"artifacts\"  (\"storage_key\") WHERE \"storage_key\" IS NOT NULL");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_pending\" ON \"artifacts\"  (\"captured_at\") WHERE \"state\" = 'pending'");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_artifacts_source_ref\" ON \"artifacts\"  (\"kind\", \"purpose\", \"source_ref\") WHERE \"source_ref\" IS NOT NULL");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_customer\" ON \"artifacts\"  (\"customer_id\", \"captured_at\") ");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_conversation\" ON \"artifacts\"  (\"conversation_id\", \"captured_at\") ");
    await queryRunner.query("CREATE INDEX \"IDX_artifacts_retain_until\" ON \"artifacts\"  (\"retain_until\") WHERE \"state\" IN ('stored', 'purging')");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"FK_artifacts_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"FK_artifacts_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"FK_artifacts_purpose\" FOREIGN KEY (\"purpose\") REFERENCES \"consent_purposes\"(\"code\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"artifacts\" ADD CONSTRAINT \"FK_artifacts_consent_event\" FOREIGN KEY (\"consent_event_id\") REFERENCES \"consent_events\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");

    await queryRunner.query(
      `CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()`,
    );
    for (const [tag, duration, starts, description] of POLICIES) {
      await queryRunner.query(`INSERT INTO retention_policies (tag, duration, starts, description) VALUES ($1, $2, $3, $4)`, [tag, duration, starts, description]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER audit_events_no_truncate ON audit_events`);
    await queryRunner.query(`DROP TRIGGER audit_events_append_only ON audit_events`);
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"FK_artifacts_consent_event\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"FK_artifacts_purpose\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"FK_artifacts_customer\"");
    await queryRunner.query("ALTER TABLE \"artifacts\" DROP CONSTRAINT \"FK_artifacts_conversation\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_retain_until\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_conversation\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_customer\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_artifacts_source_ref\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_artifacts_pending\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_artifacts_storage_key\"");
    await queryRunner.query("DROP TABLE \"artifacts\"");
    await queryRunner.query("DROP TABLE \"retention_policies\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_audit_events_target\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_audit_events_actor\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_audit_events_seq\"");
    await queryRunner.query("DROP TABLE \"audit_events\"");
  }
}
