import { createHash } from 'node:crypto';

/** The hash before the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  seq: number;
  occurredAt: Date;
  actorKind: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string;
  targetId: string;
  purpose: string | null;
  reason: string | null;
  outcome: string;
  details: Record<string, unknown>;
  prevHash: string;
}

/** SHA-256 over the event's fields in a fixed order (details with sorted keys) and the previous hash. */
export function chainHash(e: ChainedFields): string {
  const canonical = JSON.stringify([
    e.seq,
    e.occurredAt.toISOString(),
    e.actorKind,
    e.actorId,
    e.actorRole,
    e.action,
    e.targetType,
    e.targetId,
    e.purpose,
    e.reason,
    e.outcome,
    sortKeys(e.details),
    e.prevHash,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
