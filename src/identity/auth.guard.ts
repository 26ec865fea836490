import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainException } from '../errors/domain.exception';
import { PUBLIC_KEY } from './auth.decorators';
import type { AuthenticatedRequest } from './principal-of';
import { principalOf } from './principal-of';
import { addressTracker } from '../rate-limit/client-address';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { TokenService } from './token.service';

/** Global: every route needs a verified bearer token unless marked @Public() (R5.1). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly rateLimits: RateLimitService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [ctx.getHandler(), ctx.getClass()])) {
      // Open to anyone; a valid token still says who is calling, so the caller's own budget counts, not the address's.
      if (ctx.getType() === 'http') await this.identifyIfSigned(ctx.switchToHttp().getRequest<Request & AuthenticatedRequest>());
      return true;
    }
    if (ctx.getType() === 'ws') {
      // Sockets are authenticated once, at the handshake (SocketAuthAdapter).
      if (principalOf(ctx)) return true;
      throw new DomainException('UNAUTHENTICATED', 'This connection is not signed in');
    }
    const req = ctx.switchToHttp().getRequest<Request & AuthenticatedRequest>();
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw new DomainException('UNAUTHENTICATED', 'This route needs a bearer token');
      req.principal = await this.tokens.verify(token);
      return true;
    } catch (err) {
      // Failed sign-ins count against the client address, so guessing tokens is limited too.
      await this.rateLimits.take('anonymous', addressTracker(req.ip));
      throw err;
    }
  }

  private async identifyIfSigned(req: Request & AuthenticatedRequest): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (token) req.principal = await this.tokens.verify(token).catch(() => undefined);
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
