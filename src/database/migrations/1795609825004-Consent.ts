import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Consent: the purpose catalogue (seeded below), versioned texts, requests in
 * conversations, the append-only ledger (a trigger refuses UPDATE, DELETE and
 * TRUNCATE, design invariant 3), and single-use diagnostics upload tokens.
 * Customers' locale and country become optional: unset means "not chosen",
 * so the client's language and then Dutch apply (R2.1, R2.2).
 */
const PURPOSES: Array<[code: string, basis: string, tag: string, categories: string[], description: string]> = [
  ['support', 'contract', 'support_chat', ['contact_details', 'chat_messages', 'call_metadata'], 'Handling the support incident: contact data, chat content and communication with support (R3.1).'],
  [
    'diagnostics',
    'consent',
    'diagnostics',
    ['device_state', 'application_state', 'installed_software', 'hardware_configuration', 'error_reports'],
    'Device and application state at the fault and during diagnosis, system and registry data on installed software, hardware configuration, error reports that may hold file contents (R3.2).',
  ],
  ['chat_recording', 'consent', 'quality_review', ['chat_messages'], 'Chats recorded and monitored for quality review (R3.4).'],
  ['call_recording', 'consent', 'call_recording', ['call_audio'], 'Phone calls recorded (R3.4).'],
  ['transcription', 'consent', 'call_transcript', ['call_transcript'], 'Transcripts of spoken messages (R3.3).'],
  [
    'customer_profile',
    'consent',
    'customer_profile',
    ['contact_history', 'skills', 'communication_preferences'],
    'Building a customer picture so that service fits the customer’s needs, skills and communication wishes (R3.5).',
  ],
];

export class Consent1795609825004 implements MigrationInterface {
  name = 'Consent1795609825004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"consent_purposes\" (\"code\" text NOT NULL, \"legal_basis\" text NOT NULL, \"retention_tag\" text NOT NULL, \"categories\" text array NOT NULL DEFAULT '{}', \"description\" text NOT NULL, \"active\" boolean NOT NULL DEFAULT true, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_consent_purposes_retention_tag\" CHECK (\"retention_tag\" ~ '^[a-z][a-z0-9_]{1,39}$'), CONSTRAINT \"CHK_consent_purposes_legal_basis\" CHECK (\"legal_basis\" IN ('contract', 'consent')), CONSTRAINT \"CHK_consent_purposes_code\" CHECK (\"code\" ~ '^[a-z][a-z0-9_]{1,39}$'), CONSTRAINT \"PK_2d8beb799b0f6bf455a61b52a6a\" PRIMARY KEY (\"code\"))");
    await queryRunner.query("CREATE TABLE \"consent_text_versions\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"purpose\" text NOT NULL, \"locale\" text NOT NULL, \"version\" integer NOT NULL, \"effective_from\" TIMESTAMP WITH TIME ZONE NOT NULL, \"title\" text NOT NULL, \"categories\" jsonb NOT NULL, \"text\" text NOT NULL, \"sha256\" text NOT NULL, \"readability\" jsonb NOT NULL, \"source\" text NOT NULL, \"published_by\" uuid, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_consent_text_versions_source\" CHECK (\"source\" IN ('shipped', 'admin')), CONSTRAINT \"CHK_consent_text_versions_sha256\" CHECK (\"sha256\" ~ '^[0-9a-f]{64}$'), CONSTRAINT \"CHK_consent_text_versions_version\" CHECK (\"version\" > 0), CONSTRAINT \"CHK_consent_text_versions_locale\" CHECK (\"locale\" IN ('nl-NL', 'en')), CONSTRAINT \"PK_28c4548f8747807733549046436\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_consent_text_versions_current\" ON \"consent_text_versions\"  (\"purpose\", \"locale\", \"effective_from\") ");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_consent_text_versions_version\" ON \"consent_text_versions\"  (\"purpose\", \"locale\", \"version\") ");
    await queryRunner.query("CREATE TABLE \"consent_requests\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"conversation_id\" uuid NOT NULL, \"customer_id\" uuid NOT NULL, \"purpose\" text NOT NULL, \"requested_by\" uuid NOT NULL, \"text_version_id\" uuid NOT NULL, \"locale\" text NOT NULL, \"status\" text NOT NULL DEFAULT 'pending', \"expires_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"closed_at\" TIMESTAMP WITH TIME ZONE, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_consent_requests_closed\" CHECK ((\"status\" = 'pending') = (\"closed_at\" IS NULL)), CONSTRAINT \"CHK_consent_requests_status\" CHECK (\"status\" IN ('pending', 'granted', 'denied', 'expired')), CONSTRAINT \"PK_6e56fb576d9de99095cc4a8ba65\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_consent_requests_conversation\" ON \"consent_requests\"  (\"conversation_id\", \"created_at\") ");
    await queryRunner.query("CREATE INDEX \"IDX_consent_requests_pending_expiry\" ON \"consent_requests\"  (\"expires_at\") WHERE \"status\" = 'pending'");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_consent_requests_pending\" ON \"consent_requests\"  (\"conversation_id\", \"purpose\") WHERE \"status\" = 'pending'");
    await queryRunner.query("CREATE TABLE \"consent_events\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"position\" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, \"type\" text NOT NULL, \"customer_id\" uuid NOT NULL, \"purpose\" text NOT NULL, \"scope\" text NOT NULL, \"conversation_id\" uuid, \"request_id\" uuid, \"actor_kind\" text NOT NULL, \"actor_id\" uuid, \"channel\" text NOT NULL, \"evidence\" jsonb NOT NULL DEFAULT '{}', \"locale\" text, \"text_version_id\" uuid, \"text_sha256\" text, \"occurred_at\" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT \"CHK_consent_events_text_shown\" CHECK (\"type\" NOT IN ('requested', 'granted', 'denied') OR (\"text_version_id\" IS NOT NULL AND \"text_sha256\" IS NOT NULL)), CONSTRAINT \"CHK_consent_events_decided_by_customer\" CHECK (\"type\" NOT IN ('granted', 'denied', 'withdrawn') OR \"actor_kind\" = 'customer'), CONSTRAINT \"CHK_consent_events_actor_kind\" CHECK (\"actor_kind\" IN ('customer', 'staff', 'system')), CONSTRAINT \"CHK_consent_events_channel\" CHECK (\"channel\" IN ('chat', 'web', 'ivr')), CONSTRAINT \"CHK_consent_events_scope\" CHECK (\"scope\" IN ('conversation', 'standing') AND ((\"scope\" = 'conversation') = (\"conversation_id\" IS NOT NULL))), CONSTRAINT \"CHK_consent_events_type\" CHECK (\"type\" IN ('requested', 'granted', 'denied', 'withdrawn', 'expired')), CONSTRAINT \"PK_40ecc066035b8a4e5a6dcdfb46e\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_consent_events_position\" ON \"consent_events\"  (\"position\") ");
    await queryRunner.query("CREATE INDEX \"IDX_consent_events_request\" ON \"consent_events\"  (\"request_id\") WHERE \"request_id\" IS NOT NULL");
    await queryRunner.query("CREATE INDEX \"IDX_consent_events_customer\" ON \"consent_events\"  (\"customer_id\", \"position\") ");
    await queryRunner.query("CREATE INDEX \"IDX_consent_events_decisions\" ON \"consent_events\"  (\"customer_id\", \"purpose\", \"conversation_id\", \"position\") WHERE \"type\" IN ('granted', 'denied', 'withdrawn')");
    await queryRunner.query("CREATE TABLE \"consent_upload_tokens\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"token_sha256\" text NOT NULL, \"conversation_id\" uuid NOT NULL, \"customer_id\" uuid NOT NULL, \"purpose\" text NOT NULL, \"consent_event_id\" uuid NOT NULL, \"expires_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"used_at\" TIMESTAMP WITH TIME ZONE, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_b21e3cd0fa5ed7f45fd1570824f\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_consent_upload_tokens_hash\" ON \"consent_upload_tokens\"  (\"token_sha256\") ");
    await queryRunner.query("CREATE INDEX \"IDX_consent_upload_tokens_expiry\" ON \"consent_upload_tokens\"  (\"expires_at\") ");
    await queryRunner.query("ALTER TABLE \"customers\" ADD \"client_locale\" text");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"locale\" DROP NOT NULL");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"locale\" DROP DEFAULT");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"country\" DROP NOT NULL");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"country\" DROP DEFAULT");
    await queryRunner.query("ALTER TABLE \"customers\" ADD CONSTRAINT \"CHK_customers_client_locale\" CHECK (length(\"client_locale\") <= 200)");
    await queryRunner.query("ALTER TABLE \"consent_text_versions\" ADD CONSTRAINT \"FK_consent_text_versions_purpose\" FOREIGN KEY (\"purpose\") REFERENCES \"consent_purposes\"(\"code\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_requests\" ADD CONSTRAINT \"FK_consent_requests_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_requests\" ADD CONSTRAINT \"FK_consent_requests_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_requests\" ADD CONSTRAINT \"FK_consent_requests_purpose\" FOREIGN KEY (\"purpose\") REFERENCES \"consent_purposes\"(\"code\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_requests\" ADD CONSTRAINT \"FK_consent_requests_text_version\" FOREIGN KEY (\"text_version_id\") REFERENCES \"consent_text_versions\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_events\" ADD CONSTRAINT \"FK_consent_events_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_events\" ADD CONSTRAINT \"FK_consent_events_purpose\" FOREIGN KEY (\"purpose\") REFERENCES \"consent_purposes\"(\"code\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_events\" ADD CONSTRAINT \"FK_consent_events_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_events\" ADD CONSTRAINT \"FK_consent_events_request\" FOREIGN KEY (\"request_id\") REFERENCES \"consent_requests\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_events\" ADD CONSTRAINT \"FK_consent_events_text_version\" FOREIGN KEY (\"text_version_id\") REFERENCES \"consent_text_versions\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" ADD CONSTRAINT \"FK_consent_upload_tokens_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" ADD CONSTRAINT \"FK_consent_upload_tokens_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" ADD CONSTRAINT \"FK_consent_upload_tokens_event\" FOREIGN KEY (\"consent_event_id\") REFERENCES \"consent_events\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");

    // Append-only tables (the consent ledger here; the audit trail later) refuse every change.
    await queryRunner.query(`
      CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
      END
      $fn$`);
    await queryRunner.query(
      `CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()`,
    );

    // Every instance's gate cache hears each change at commit (consent-cache.service.ts).
    await queryRunner.query(`
      CREATE FUNCTION notify_consent_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_TABLE_NAME = 'consent_events' THEN
          PERFORM pg_notify('consent_changes', NEW.customer_id::text);
        ELSE
          PERFORM pg_notify('consent_changes', '*');
        END IF;
        RETURN NULL;
      END
      $fn$`);
    await queryRunner.query(
      `CREATE TRIGGER consent_events_notify AFTER INSERT ON consent_events FOR EACH ROW WHEN (NEW.type IN ('granted', 'denied', 'withdrawn')) EXECUTE FUNCTION notify_consent_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER consent_purposes_notify AFTER INSERT OR UPDATE OR DELETE ON consent_purposes FOR EACH STATEMENT EXECUTE FUNCTION notify_consent_change()`,
    );

    for (const [code, basis, tag, categories, description] of PURPOSES) {
      await queryRunner.query(
        `INSERT INTO consent_purposes (code, legal_basis, retention_tag, categories, description) VALUES ($1, $2, $3, $4, $5)`,
        [code, basis, tag, categories, description],
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER consent_purposes_notify ON consent_purposes`);
    await queryRunner.query(`DROP TRIGGER consent_events_notify ON consent_events`);
    await queryRunner.query(`DROP FUNCTION notify_consent_change()`);
    await queryRunner.query(`DROP TRIGGER consent_events_no_truncate ON consent_events`);
    await queryRunner.query(`DROP TRIGGER consent_events_append_only ON consent_events`);
    await queryRunner.query(`DROP FUNCTION refuse_append_only_change()`);
    await queryRunner.query(`UPDATE customers SET locale = COALESCE(locale, 'nl-NL'), country = COALESCE(country, 'NL')`);
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" DROP CONSTRAINT \"FK_consent_upload_tokens_event\"");
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" DROP CONSTRAINT \"FK_consent_upload_tokens_customer\"");
    await queryRunner.query("ALTER TABLE \"consent_upload_tokens\" DROP CONSTRAINT \"FK_consent_upload_tokens_conversation\"");
    await queryRunner.query("ALTER TABLE \"consent_events\" DROP CONSTRAINT \"FK_consent_events_text_version\"");
    await queryRunner.query("ALTER TABLE \"consent_events\" DROP CONSTRAINT \"FK_consent_events_request\"");
    await queryRunner.query("ALTER TABLE \"consent_events\" DROP CONSTRAINT \"FK_consent_events_conversation\"");
    await queryRunner.query("ALTER TABLE \"consent_events\" DROP CONSTRAINT \"FK_consent_events_purpose\"");
    await queryRunner.query("ALTER TABLE \"consent_events\" DROP CONSTRAINT \"FK_consent_events_customer\"");
    await queryRunner.query("ALTER TABLE \"consent_requests\" DROP CONSTRAINT \"FK_consent_requests_text_version\"");
    await queryRunner.query("ALTER TABLE \"consent_requests\" DROP CONSTRAINT \"FK_consent_requests_purpose\"");
    await queryRunner.query("ALTER TABLE \"consent_requests\" DROP CONSTRAINT \"FK_consent_requests_customer\"");
    await queryRunner.query("ALTER TABLE \"consent_requests\" DROP CONSTRAINT \"FK_consent_requests_conversation\"");
    await queryRunner.query("ALTER TABLE \"consent_text_versions\" DROP CONSTRAINT \"FK_consent_text_versions_purpose\"");
    await queryRunner.query("ALTER TABLE \"customers\" DROP CONSTRAINT \"CHK_customers_client_locale\"");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"country\" SET DEFAULT 'NL'");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"country\" SET NOT NULL");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"locale\" SET DEFAULT 'nl-NL'");
    await queryRunner.query("ALTER TABLE \"customers\" ALTER COLUMN \"locale\" SET NOT NULL");
    await queryRunner.query("ALTER TABLE \"customers\" DROP COLUMN \"client_locale\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_upload_tokens_expiry\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_consent_upload_tokens_hash\"");
    await queryRunner.query("DROP TABLE \"consent_upload_tokens\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_events_decisions\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_events_customer\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_events_request\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_consent_events_position\"");
    await queryRunner.query("DROP TABLE \"consent_events\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_consent_requests_pending\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_requests_pending_expiry\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_requests_conversation\"");
    await queryRunner.query("DROP TABLE \"consent_requests\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_consent_text_versions_version\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_consent_text_versions_current\"");
    await queryRunner.query("DROP TABLE \"consent_text_versions\"");
    await queryRunner.query("DROP TABLE \"consent_purposes\"");
  }
}
