import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainException } from '../errors/domain.exception';
import { PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import { hasAnyRole, type Role } from './principal';
import { principalOf } from './principal-of';

/** Least privilege per role (R5.1): runs after AuthGuard, for HTTP routes and socket events alike. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const targets = [ctx.getHandler(), ctx.getClass()];
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (!roles || roles.length === 0) return true;
    const principal = principalOf(ctx);
    if (!principal) {
      if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
      throw new DomainException('UNAUTHENTICATED', 'This route needs a bearer token');
    }
    if (!hasAnyRole(principal, roles)) {
      throw new DomainException('FORBIDDEN', `This is only for the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}
