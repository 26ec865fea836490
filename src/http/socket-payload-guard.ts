import type { Socket } from 'socket.io';
import { DomainException } from '../errors/domain.exception';
import { mapError } from '../errors/error-mapping';
import { assertInputShape, MAX_SOCKET_PAYLOAD_BYTES } from './input-shape';

type Packet = unknown[];

/**
 * Runs before any handler of any event on the socket: an event called with no
 * payload gets `undefined` for it (so the acknowledgement stays the last
 * argument, where every handler looks for it), and a payload nested too deep
 * or too large, or a second payload, is answered `{ error: { code, message } }` (or an `exception`
 * event without an acknowledgement) and goes no further; so is an event no
 * handler listens to.
 */
export function guardSocketPayloads(socket: Socket): void {
  socket.use((packet: Packet, next: (err?: Error) => void) => {
    if (packet.length === 2 && typeof packet[1] === 'function') packet.splice(1, 0, undefined);
    const ack = typeof packet[packet.length - 1] === 'function' ? (packet[packet.length - 1] as (answer: unknown) => void) : undefined;
    try {
      const payload = ack ? packet.slice(1, -1) : packet.slice(1);
      // Every event takes one payload; a second would take the acknowledgement's place in a handler.
      if (payload.length > 1) throw new DomainException('VALIDATION_FAILED', 'Send one payload per event');
      // Handlers are bound when the socket connects: an event nobody listens to would go unanswered.
      if (socket.listenerCount(packet[0] as string) === 0) throw new DomainException('UNKNOWN_EVENT', 'There is no such event');
      assertInputShape(payload, MAX_SOCKET_PAYLOAD_BYTES);
    } catch (err) {
      const { body } = mapError(err, '');
      socket.emit('exception', body);
      ack?.({ error: body });
      return;
    }
    next();
  });
}
