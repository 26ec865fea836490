import { ArgumentsHost, Catch, type ExceptionFilter, Logger, NotFoundException, Optional, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io';
import { addressTracker } from '../rate-limit/client-address';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { isBodyRefusal, mapError } from './error-mapping';
import { routeTemplate } from '../logging/logger';

/**
 * Every error leaves through here: HTTP as status + `{ code, message }`, socket
 * events as an `exception` event and, when the client asked for one, an
 * acknowledgement `{ error: { code, message } }`. Stacks stay in the log.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Optional() private readonly rateLimits?: RateLimitService) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() === 'ws') return this.catchSocket(exception, host);
    const http = host.switchToHttp();
    const req = http.getRequest<Request & { id?: string }>();
    const res = http.getResponse<Response>();
    // No route ran, so no guard counted it (probing for routes, bodies refused while read): counted against the
    // address here, and a refused body is logged, as the request logger never saw it.
    const unrouted = exception instanceof NotFoundException && /^Cannot [A-Z]+ /.test(exception.message);
    const unread = !unrouted && isBodyRefusal(exception);
    if (unread) this.logger.warn({ method: req.method, path: routeTemplate(req) }, `request body refused (${mapError(exception, '').body.code})`);
    if (this.rateLimits && (unrouted || unread)) {
      try {
        const counted = this.rateLimits.take('anonymous', addressTracker(req.ip));
        if (counted) {
          counted.then(
            () => this.respond(exception, req, res),
            (refused: unknown) => this.respond(refused, req, res),
          );
          return;
        }
      } catch (refused) {
        return this.respond(refused, req, res);
      }
    }
    this.respond(exception, req, res);
  }

  private respond(exception: unknown, req: Request & { id?: string }, res: Response): void {
    const correlationId = String(req.id ?? randomUUID());
    const { status, body, unexpected, headers } = mapError(exception, correlationId);
    if (unexpected) this.logger.error({ err: exception, correlationId }, 'Unhandled error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader('x-request-id', correlationId);
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    res.status(status).json(body);
  }

  private catchSocket(exception: unknown, host: ArgumentsHost): void {
    const [client, , ...rest] = host.getArgs<[Socket, unknown, ...unknown[]]>();
    replyWithError(client, exception, rest.find((arg) => typeof arg === 'function'), this.logger);
  }
}

/**
 * A socket event's failure: an `exception` event and, when the client asked
 * for one, the acknowledgement `{ error: { code, message } }`. Used by the
 * filter and by handlers bound straight to the socket.
 */
export function replyWithError(client: Socket, exception: unknown, ack: unknown, logger: Logger): void {
  const correlationId = randomUUID();
  const { body, unexpected } = mapError(exception, correlationId);
  if (unexpected) logger.error({ err: exception, correlationId, socket: client.id }, 'Unhandled socket error');
  client.emit('exception', body);
  if (typeof ack === 'function') (ack as (response: unknown) => void)({ error: body });
}

/**
 * Global filters do not reach Socket.IO gateways in NestJS; every gateway
 * carries this so socket errors get the same codes as HTTP.
 */
export const SocketExceptions = () => UseFilters(AllExceptionsFilter);
