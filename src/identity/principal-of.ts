import type { ExecutionContext } from '@nestjs/common';
import type { Socket } from 'socket.io';
import type { Principal } from './principal';

export interface AuthenticatedRequest {
  principal?: Principal;
}

export interface SocketData {
  principal?: Principal;
}

/** Reads the principal an HTTP request or a socket connection was authenticated as. */
export function principalOf(ctx: ExecutionContext): Principal | undefined {
  if (ctx.getType() === 'ws') return (ctx.switchToWs().getClient<Socket>().data as SocketData).principal;
  return ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
}
