import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import { censorKeys, scrubText } from './scrub';

/** The only client request id kept (R5.1): anything else could carry personal data into every line. */
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The path logged when no route matched (or the request failed before routing): never the URL itself. */
export const NO_ROUTE = '(no route)';

/** The process-wide JSON logger. Everything it writes passes through the scrubber. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => censorKeys(object) as Record<string, unknown>,
      },
      serializers: { err: serializeError },
      hooks: { streamWrite: scrubText },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * An error from PostgreSQL (pg's DatabaseError, TypeORM's QueryFailedError).
 * Their messages quote input ('invalid input syntax for type uuid: "…"') and
 * their detail holds row values, so only code, constraint and place are kept.
 */
function databaseError(err: Error): Record<string, unknown> | undefined {
  const e = err as Error & { code?: unknown; severity?: unknown; routine?: unknown; driverError?: unknown };
  if (err.name !== 'QueryFailedError' && e.driverError === undefined && typeof e.routine !== 'string' && typeof e.severity !== 'string') return undefined;
  const source = (e.driverError ?? e) as Record<string, unknown>;
  const pick = (key: string) => (typeof source[key] === 'string' ? { [key]: source[key] } : {});
  const code = typeof source.code === 'string' ? source.code : 'unknown';
  return {
    type: err.name,
    message: `database error ${code}`,
    code,
    ...pick('constraint'),
    ...pick('table'),
    ...pick('column'),
    ...pick('routine'),
    stack: frames(err.stack),
  };
}

/** A stack's frames without its first line, which repeats the message. */
function frames(stack: string | undefined): string | undefined {
  return stack?.split('\n').filter((line) => /^\s+at /.test(line)).join('\n');
}

/** Stack and message (scrubbed on write), nothing else an error may carry (pg's `detail` holds row values). */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const fromDatabase = databaseError(err);
  if (fromDatabase) return fromDatabase;
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, stack: err.stack, ...(code !== undefined && { code }) };
}

/** An error as one line for a log message: a database error by its code only. */
export function safeErrorText(err: unknown): string {
  if (!(err instanceof Error)) return typeof err === 'string' ? err : 'non-error thrown';
  const fromDatabase = databaseError(err);
  if (!fromDatabase) return err.message;
  const { message, constraint } = fromDatabase as { message: string; constraint?: string };
  return constraint ? `${message} (${constraint})` : message;
}

interface RouteLayer {
  route?: { path?: unknown; _handlesMethod?(method: string): boolean };
  match?(path: string): boolean;
}
type RoutedRequest = IncomingMessage & { originalUrl?: string; app?: { router?: { stack?: RouteLayer[] } } };

/**
 * The template of the route that serves this request (/conversations/:id),
 * never the URL a client sent; NO_ROUTE when none does. Looked up in
 * Express's own route table: `req.route` there is the catch-all middleware
 * route Nest mounts for the request logger, not the handler's.
 */
export function routeTemplate(req: IncomingMessage): string {
  const { app, originalUrl, url, method } = req as RoutedRequest;
  const pathname = (originalUrl ?? url ?? '').split('?')[0];
  const verb = (method ?? '').toLowerCase();
  for (const layer of app?.router?.stack ?? []) {
    const template = layer.route?.path;
    // Wildcard routes are middleware (the logger's own); handler routes here have none.
    if (typeof template !== 'string' || template.includes('*') || !layer.route?._handlesMethod?.(verb)) continue;
    if (layer.match?.(pathname)) return template;
  }
  return NO_ROUTE;
}

/** Request logging: method, route template, status, duration, request id. */
export function httpLoggingOptions(logger: Logger): PinoHttpOptions {
  return {
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming.toLowerCase() : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    autoLogging: { ignore: (req) => req.url === '/health' },
    // Raw objects in, a few safe fields out: no headers, no URL or query string, no client address.
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, path: routeTemplate(req) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      err: serializeError,
    },
    // The filter already logged unexpected errors with their correlation id.
    customErrorMessage: (_req, res) => `request failed with ${res.statusCode}`,
    quietReqLogger: true,
  };
}
