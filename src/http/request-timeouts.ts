import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { DomainException } from '../errors/domain.exception';
import { mapError } from '../errors/error-mapping';

const TIMEOUTS = Symbol('request-timeouts');

interface Timeouts {
  /** Stops the short timer: the request is an upload from here on. */
  clear(): void;
  uploadIdleMs: number;
}

type Timed = IncomingMessage & { [TIMEOUTS]?: Timeouts; res?: ServerResponse };

/**
 * Every request with a body must have it in within `requestMs` (a client that
 * trickles or stalls gets 408 REQUEST_TIMEOUT), unless its route takes it as an
 * upload (`watchUpload`): then only `uploadIdleMs` without a byte ends it, and
 * Node's request timeout (an hour) bounds the whole.
 */
export function requestTimeouts(options: { requestMs: number; uploadIdleMs: number }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const timed = req as unknown as Timed;
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
    if (!hasBody || req.complete) {
      timed[TIMEOUTS] = { clear: () => undefined, uploadIdleMs: options.uploadIdleMs };
      return next();
    }
    const timer = setTimeout(() => timedOut(req, res, `The request body did not arrive within ${options.requestMs / 1000} s`), options.requestMs);
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    res.once('finish', clear);
    res.once('close', clear);
    timed[TIMEOUTS] = { clear, uploadIdleMs: options.uploadIdleMs };
    next();
  };
}

function timedOut(req: IncomingMessage, res: ServerResponse, message: string): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  const { status, body } = mapError(new DomainException('REQUEST_TIMEOUT', message), '');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify(body));
}

/**
 * The route takes this request's body as an upload: the short timeout no
 * longer applies, and `onIdle` is called after the upload idle time without a
 * byte. The consumer fails its stream with the error it gets, which ends the
 * request with 408 once what was written is removed.
 */
export function watchUpload(req: IncomingMessage, onIdle: (err: DomainException) => void): void {
  const timeouts = (req as Timed)[TIMEOUTS];
  timeouts?.clear();
  if (req.complete || !timeouts) return;
  const seconds = timeouts.uploadIdleMs / 1000;
  req.setTimeout(timeouts.uploadIdleMs, () => onIdle(new DomainException('REQUEST_TIMEOUT', `No data arrived for ${seconds} s; the upload was dropped`)));
  // Once the body is in, the socket may stay quiet while the upload is stored.
  req.once('end', () => req.socket?.setTimeout(0));
}

/**
 * The body of a raw upload (the request is the file) as a stream of its own,
 * watched for idleness. When the consumer stops early (refused, failed), the
 * rest is drained and the connection closed after the answer.
 */
export function uploadBody(req: IncomingMessage, accepted = 'application/octet-stream'): Readable {
  // A JSON or form body was read by a parser already: what is left to stream is nothing.
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if ((req as { _body?: unknown })._body === true || type.includes('json') || type.includes('x-www-form-urlencoded')) {
    throw new DomainException('UNSUPPORTED_MEDIA_TYPE', `Send the bytes as they are (${accepted}), not as JSON or a form`);
  }
  const body = new PassThrough();
  const fail = (err: Error) => failStream(body, err);
  watchUpload(req, fail);
  req.once('aborted', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The client went away during the upload')));
  req.once('error', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The upload was cut off')));
  body.once('close', () => stopReading(req, body));
  req.pipe(body);
  return body;
}

/**
 * Fails a stream handed to a consumer once the consumer reads it: one
 * destroyed before anyone reads it would never tell its reader.
 */
export function failStream(stream: Readable, err: Error): void {
  if (stream.destroyed) return;
  const reading = (event: string | symbol) => event === 'readable' || event === 'data';
  if (stream.listenerCount('readable') + stream.listenerCount('data') > 0) {
    stream.destroy(err);
    return;
  }
  const onListener = (event: string | symbol) => {
    if (!reading(event)) return;
    stream.off('newListener', onListener);
    // After the reader has added its other listeners ('error', 'end') in the same step.
    process.nextTick(() => stream.destroy(err));
  };
  stream.on('newListener', onListener);
}

/** The consumer is done with the request before its end: read no further, and close the connection after the answer. */
export function stopReading(req: IncomingMessage, from?: NodeJS.WritableStream): void {
  if (req.complete) return;
  if (from) req.unpipe(from);
  const res = (req as Timed).res;
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
  req.resume();
}
