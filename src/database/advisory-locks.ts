/** Keys for pg_advisory_lock, one per job that must run on one instance at a time. */
export const ADVISORY_LOCKS = {
  migrations: 72_410_001,
  consentTexts: 72_410_002,
  auditChain: 72_410_003,
  pendingCleanup: 72_410_004,
  purge: 72_410_005,
  reconcile: 72_410_006,
} as const;

/**
 * Holds a lock on one named thing (`open-chat:<customer>`) until the caller's
 * transaction ends: two transactions on the same thing take turns.
 */
export async function lockUntilCommit(manager: { query(sql: string, params: unknown[]): Promise<unknown> }, key: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [key]);
}
