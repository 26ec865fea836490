export const STAFF_ROLES = ['agent', 'privacy_officer', 'admin'] as const;
export const ROLES = [...STAFF_ROLES, 'customer'] as const;

export type StaffRole = (typeof STAFF_ROLES)[number];
export type Role = (typeof ROLES)[number];

/** Who is calling, as proven by a verified token. */
export type Principal =
  | { kind: 'staff'; subject: string; roles: StaffRole[] }
  | { kind: 'customer'; subject: string; roles: ['customer']; locale?: string };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return (principal.roles as readonly Role[]).some((r) => roles.includes(r));
}
