import type { Participant } from '../directory/directory.service';
import type { ConversationRow } from './conversation.views';

/**
 * Who sees what (R5.1, least privilege):
 * - a customer: their own conversations, with content;
 * - an agent: the open, unassigned queue (metadata) and the conversations assigned to them (content);
 * - an admin: everything;
 * - a privacy officer: every conversation's metadata, never message bodies through these routes.
 */
export function canSeeMetadata(p: Participant, c: Pick<ConversationRow, 'customer_id' | 'assigned_agent_id' | 'status'>): boolean {
  if (p.kind === 'customer') return c.customer_id === p.id;
  if (p.roles.includes('admin') || p.roles.includes('privacy_officer')) return true;
  return p.roles.includes('agent') && (c.assigned_agent_id === p.id || (c.status === 'open' && c.assigned_agent_id === null));
}

export function canReadContent(p: Participant, c: Pick<ConversationRow, 'customer_id' | 'assigned_agent_id'>): boolean {
  if (p.kind === 'customer') return c.customer_id === p.id;
  if (p.roles.includes('admin')) return true;
  return p.roles.includes('agent') && c.assigned_agent_id === p.id;
}

// Writing a message (the customer, or the staff member it is assigned to) is checked
// under the conversation's row lock by append_chat_messages, in the same statement that writes.

export function canClose(p: Participant, c: Pick<ConversationRow, 'customer_id' | 'assigned_agent_id'>): boolean {
  if (p.kind === 'customer') return c.customer_id === p.id;
  return c.assigned_agent_id === p.id || p.roles.includes('admin');
}
