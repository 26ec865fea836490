import { ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { mapError } from './error-mapping';

/** Every HTTP error leaves through here as `{ code, message }`; stacks stay in the log. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const req = http.getRequest<Request & { id?: string }>();
    const res = http.getResponse<Response>();
    const correlationId = String(req.id ?? randomUUID());
    const { status, body, unexpected } = mapError(exception, correlationId);
    if (unexpected) {
      this.logger.error({ err: exception, correlationId }, 'Unhandled error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader('x-request-id', correlationId);
    res.status(status).json(body);
  }
}
