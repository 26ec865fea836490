/** Keys for pg_advisory_lock, one per job that must run on one instance at a time. */
export const ADVISORY_LOCKS = {
  migrations: 72_410_001,
  consentTexts: 72_410_002,
  auditChain: 72_410_003,
  pendingCleanup: 72_410_004,
  purge: 72_410_005,
  reconcile: 72_410_006,
} as const;
