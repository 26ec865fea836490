import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Principal, Role } from './principal';
import { principalOf } from './principal-of';

export const PUBLIC_KEY = 'identity:public';
export const ROLES_KEY = 'identity:roles';

/** Opens a route to callers without a token (health, docs). Everything else needs one. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Restricts a route or event to callers holding at least one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** The verified caller of an HTTP route or socket event. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal => principalOf(ctx)!,
);
