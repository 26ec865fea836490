import type { RawBodyRequest } from '@nestjs/common';
import express, { type RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import { jsonTextDepth, MAX_INPUT_DEPTH } from './input-shape';

/**
 * The JSON body parser, in place of Nest's (which steps aside for one named
 * jsonParser): it keeps the raw body (the telephony signature covers it) and
 * refuses a body nested deeper than MAX_INPUT_DEPTH before it is parsed.
 */
export function jsonBodyParser(): RequestHandler {
  const parser = express.json({
    limit: '100kb',
    verify: (req: IncomingMessage, _res, buffer: Buffer) => {
      (req as RawBodyRequest<IncomingMessage>).rawBody = buffer;
      if (jsonTextDepth(buffer) > MAX_INPUT_DEPTH) throw Object.assign(new Error('nested too deep'), { status: 400, type: 'entity.too.deep' });
    },
  });
  return function jsonParser(req, res, next) {
    parser(req, res, next);
  };
}
