import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * append_chat_messages: a batch of chat messages in one statement, so one
 * round trip (and one commit) per batch. It locks the batch's conversations
 * in id order, then reads with a fresh snapshot (a volatile PL/pgSQL function
 * takes one per statement), so it sees every message committed by whoever held
 * a lock before it: sequence numbers stay gapless and in commit order, and a
 * resent client message id is found, never stored twice.
 * Outcome per input row: new, duplicate, closed, not_found.
 */
export class AppendChatMessages1795606617000 implements MigrationInterface {
  name = 'AppendChatMessages1795606617000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION append_chat_messages(
        p_conversation_ids uuid[], p_sender_kinds text[], p_sender_ids uuid[],
        p_client_ids text[], p_bodies text[], p_created_at timestamptz)
      RETURNS TABLE (ord int, outcome text, message_id uuid, seq int, created_at timestamptz, body text)
      LANGUAGE plpgsql VOLATILE
      -- Plan each call for its own batch: a plan cached while the table was small would
      -- keep scanning it whole once it is large.
      SET plan_cache_mode = force_custom_plan
      AS $fn$
      BEGIN
        PERFORM 1 FROM conversations c WHERE c.id = ANY (p_conversation_ids) ORDER BY c.id FOR UPDATE;

        RETURN QUERY
        WITH input AS (
          SELECT u.ord::int AS ord, u.conversation_id, u.sender_kind, u.sender_id, u.client_message_id, u.body
            FROM unnest(p_conversation_ids, p_sender_kinds, p_sender_ids, p_client_ids, p_bodies)
                 WITH ORDINALITY AS u(conversation_id, sender_kind, sender_id, client_message_id, body, ord)
        ),
        classified AS (
          SELECT i.*, c.last_seq,
                 -- Never stamped earlier than the message before it: commit order and time agree.
                 GREATEST(p_created_at, last.created_at) AS stamp,
                 m.id AS existing_id, m.seq AS existing_seq,
                 m.created_at AS existing_created_at, m.body AS existing_body,
                 CASE
                   WHEN c.id IS NULL
                     OR NOT ((i.sender_kind = 'customer' AND c.customer_id = i.sender_id)
                          OR (i.sender_kind = 'staff' AND c.assigned_agent_id = i.sender_id)) THEN 'not_found'
                   WHEN m.id IS NOT NULL THEN 'duplicate'
                   WHEN c.status <> 'open' THEN 'closed'
                   ELSE 'new'
                 END AS outcome
            FROM input i
            LEFT JOIN conversations c ON c.id = i.conversation_id
            LEFT JOIN chat_messages last ON last.conversation_id = c.id AND last.seq = c.last_seq
            LEFT JOIN chat_messages m ON m.conversation_id = i.conversation_id
                                     AND m.sender_id = i.sender_id
                                     AND m.client_message_id = i.client_message_id
        ),
        numbered AS (
          SELECT k.ord, k.conversation_id,
                 (k.last_seq + row_number() OVER (PARTITION BY k.conversation_id ORDER BY k.ord))::int AS new_seq
            FROM classified k WHERE k.outcome = 'new'
        ),
        inserted AS (
          INSERT INTO chat_messages (conversation_id, seq, sender_kind, sender_id, body, client_message_id, created_at)
          SELECT k.conversation_id, n.new_seq, k.sender_kind, k.sender_id, k.body, k.client_message_id, k.stamp
            FROM numbered n JOIN classified k ON k.ord = n.ord
          RETURNING chat_messages.id, chat_messages.conversation_id, chat_messages.seq
        ),
        bumped AS (
          UPDATE conversations c SET last_seq = x.top
            FROM (SELECT n.conversation_id, max(n.new_seq) AS top FROM numbered n GROUP BY n.conversation_id) x
           WHERE c.id = x.conversation_id
        )
        SELECT k.ord, k.outcome,
               COALESCE(ins.id, k.existing_id),
               COALESCE(ins.seq, k.existing_seq),
               CASE WHEN ins.id IS NOT NULL THEN k.stamp ELSE k.existing_created_at END,
               k.existing_body
          FROM classified k
          LEFT JOIN numbered n ON n.ord = k.ord
          LEFT JOIN inserted ins ON ins.conversation_id = n.conversation_id AND ins.seq = n.new_seq
         ORDER BY k.ord;
      END
      $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION append_chat_messages(uuid[], text[], uuid[], text[], text[], timestamptz)');
  }
}
