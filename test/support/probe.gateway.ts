import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { SocketExceptions } from '../../src/errors/all-exceptions.filter';
import { CurrentPrincipal, Roles } from '../../src/identity/auth.decorators';
import type { Principal } from '../../src/identity/principal';

/** A socket namespace that exists only in tests, to prove the handshake check applies to any gateway. */
@WebSocketGateway({ namespace: '/probe' })
@SocketExceptions()
export class ProbeGateway {
  @SubscribeMessage('whoami')
  whoami(@CurrentPrincipal() principal: Principal, @ConnectedSocket() socket: Socket) {
    return { subject: principal.subject, roles: principal.roles, socket: typeof socket.id };
  }

  @Roles('agent', 'admin')
  @SubscribeMessage('staff-only')
  staffOnly() {
    return { ok: true };
  }
}
