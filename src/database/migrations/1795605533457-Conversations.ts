import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customers, staff, conversations, chat messages, calls and telephony event ids (R3.1, R3.3),
 * and the table the Socket.IO PostgreSQL adapter uses to pass large packets between instances.
 */
export class Conversations1795605533457 implements MigrationInterface {
  name = 'Conversations1795605533457';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("CREATE TABLE \"socket_io_attachments\" (\"id\" bigserial UNIQUE, \"created_at\" timestamptz DEFAULT now(), \"payload\" bytea)");
    await queryRunner.query("CREATE TABLE \"customers\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"subject\" text NOT NULL, \"display_name\" text, \"email\" text, \"phone_masked\" text, \"phone_hash\" text, \"locale\" text NOT NULL DEFAULT 'nl-NL', \"country\" text NOT NULL DEFAULT 'NL', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"CHK_customers_country\" CHECK (\"country\" ~ '^[A-Z]{2}$'), CONSTRAINT \"CHK_customers_locale\" CHECK (\"locale\" ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'), CONSTRAINT \"PK_133ec679a801fab5e070f73d3ea\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_customers_subject\" ON \"customers\"  (\"subject\") ");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_customers_phone_hash\" ON \"customers\"  (\"phone_hash\") WHERE \"phone_hash\" IS NOT NULL");
    await queryRunner.query("CREATE TABLE \"staff_members\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"subject\" text NOT NULL, \"display_name\" text, \"roles\" text array NOT NULL DEFAULT '{}', \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), \"updated_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT \"PK_cdad75efe024402db5d51140960\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_staff_members_subject\" ON \"staff_members\"  (\"subject\") ");
    await queryRunner.query("CREATE TABLE \"conversations\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"channel\" text NOT NULL, \"status\" text NOT NULL DEFAULT 'open', \"customer_id\" uuid NOT NULL, \"assigned_agent_id\" uuid, \"opened_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"assigned_at\" TIMESTAMP WITH TIME ZONE, \"closed_at\" TIMESTAMP WITH TIME ZONE, \"last_seq\" integer NOT NULL DEFAULT '0', CONSTRAINT \"CHK_conversations_closed\" CHECK ((\"status\" = 'closed') = (\"closed_at\" IS NOT NULL)), CONSTRAINT \"CHK_conversations_status\" CHECK (\"status\" IN ('open', 'closed')), CONSTRAINT \"CHK_conversations_channel\" CHECK (\"channel\" IN ('chat', 'call')), CONSTRAINT \"PK_ee34f4f7ced4ec8681f26bf04ef\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE INDEX \"IDX_conversations_customer\" ON \"conversations\"  (\"customer_id\", \"channel\", \"status\") ");
    await queryRunner.query("CREATE INDEX \"IDX_conversations_agent\" ON \"conversations\"  (\"assigned_agent_id\", \"status\") ");
    await queryRunner.query("CREATE INDEX \"IDX_conversations_queue\" ON \"conversations\"  (\"opened_at\") WHERE \"status\" = 'open' AND \"assigned_agent_id\" IS NULL");
    await queryRunner.query("CREATE TABLE \"calls\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"conversation_id\" uuid NOT NULL, \"provider_call_id\" text NOT NULL, \"direction\" text NOT NULL, \"caller_number_masked\" text, \"queue\" text, \"started_at\" TIMESTAMP WITH TIME ZONE NOT NULL, \"answered_at\" TIMESTAMP WITH TIME ZONE, \"ended_at\" TIMESTAMP WITH TIME ZONE, \"duration_seconds\" integer, \"recording_state\" text NOT NULL DEFAULT 'none', CONSTRAINT \"CHK_calls_duration\" CHECK (\"duration_seconds\" IS NULL OR \"duration_seconds\" >= 0), CONSTRAINT \"CHK_calls_recording_state\" CHECK (\"recording_state\" IN ('none', 'recording', 'stopped')), CONSTRAINT \"CHK_calls_direction\" CHECK (\"direction\" IN ('inbound', 'outbound')), CONSTRAINT \"PK_d9171d91f8dd1a649659f1b6a20\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_calls_provider_call_id\" ON \"calls\"  (\"provider_call_id\") ");
    await queryRunner.query("CREATE INDEX \"IDX_calls_conversation\" ON \"calls\"  (\"conversation_id\") ");
    await queryRunner.query("CREATE TABLE \"chat_messages\" (\"id\" uuid NOT NULL DEFAULT gen_random_uuid(), \"conversation_id\" uuid NOT NULL, \"seq\" integer NOT NULL, \"sender_kind\" text NOT NULL, \"sender_id\" uuid NOT NULL, \"body\" text NOT NULL, \"client_message_id\" text NOT NULL, \"created_at\" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT \"CHK_chat_messages_seq\" CHECK (\"seq\" > 0), CONSTRAINT \"CHK_chat_messages_sender_kind\" CHECK (\"sender_kind\" IN ('customer', 'staff')), CONSTRAINT \"PK_40c55ee0e571e268b0d3cd37d10\" PRIMARY KEY (\"id\"))");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_chat_messages_client_id\" ON \"chat_messages\"  (\"conversation_id\", \"sender_id\", \"client_message_id\") ");
    await queryRunner.query("CREATE UNIQUE INDEX \"UQ_chat_messages_seq\" ON \"chat_messages\"  (\"conversation_id\", \"seq\") ");
    await queryRunner.query("CREATE TABLE \"telephony_events\" (\"event_id\" text NOT NULL, \"type\" text NOT NULL, \"received_at\" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT \"PK_686936fab6819c20f061e6a8b3f\" PRIMARY KEY (\"event_id\"))");
    await queryRunner.query("ALTER TABLE \"conversations\" ADD CONSTRAINT \"FK_conversations_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"conversations\" ADD CONSTRAINT \"FK_conversations_agent\" FOREIGN KEY (\"assigned_agent_id\") REFERENCES \"staff_members\"(\"id\") ON DELETE RESTRICT ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"calls\" ADD CONSTRAINT \"FK_calls_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
    await queryRunner.query("ALTER TABLE \"chat_messages\" ADD CONSTRAINT \"FK_chat_messages_conversation\" FOREIGN KEY (\"conversation_id\") REFERENCES \"conversations\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION");
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("ALTER TABLE \"chat_messages\" DROP CONSTRAINT \"FK_chat_messages_conversation\"");
    await queryRunner.query("ALTER TABLE \"calls\" DROP CONSTRAINT \"FK_calls_conversation\"");
    await queryRunner.query("ALTER TABLE \"conversations\" DROP CONSTRAINT \"FK_conversations_agent\"");
    await queryRunner.query("ALTER TABLE \"conversations\" DROP CONSTRAINT \"FK_conversations_customer\"");
    await queryRunner.query("DROP TABLE \"telephony_events\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_chat_messages_seq\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_chat_messages_client_id\"");
    await queryRunner.query("DROP TABLE \"chat_messages\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_calls_conversation\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_calls_provider_call_id\"");
    await queryRunner.query("DROP TABLE \"calls\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_conversations_queue\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_conversations_agent\"");
    await queryRunner.query("DROP INDEX \"public\".\"IDX_conversations_customer\"");
    await queryRunner.query("DROP TABLE \"conversations\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_staff_members_subject\"");
    await queryRunner.query("DROP TABLE \"staff_members\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_customers_phone_hash\"");
    await queryRunner.query("DROP INDEX \"public\".\"UQ_customers_subject\"");
    await queryRunner.query("DROP TABLE \"customers\"");
    await queryRunner.query("DROP TABLE \"socket_io_attachments\"");
  }
}
