import busboy from 'busboy';
import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { DomainException } from '../errors/domain.exception';

export interface UploadedFile {
  stream: Readable;
  fileName: string | null;
}

/**
 * The first file of a multipart/form-data request, as a stream: nothing is
 * buffered or written to disk on the way. A file over `maxBytes`, a second
 * file, or a client that goes away fails the stream, so whoever consumes it
 * stops and cleans up.
 */
export function singleFile(req: Request, field: string, maxBytes: number): Promise<UploadedFile> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(new DomainException('UNSUPPORTED_MEDIA_TYPE', `Send the file as multipart/form-data in the field "${field}"`));
  }
  return new Promise<UploadedFile>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: maxBytes + 1, fields: 10, fieldSize: 1024, parts: 20 } });
    } catch {
      reject(new DomainException('VALIDATION_FAILED', 'The multipart request is malformed'));
      return;
    }
    let file: Readable | undefined;
    const fail = (err: Error) => {
      if (file && !file.destroyed) file.destroy(err);
      else reject(err);
    };
    parser.on('file', (name, stream, info) => {
      if (name !== field || file) {
        stream.resume();
        return;
      }
      file = stream;
      // Whoever reads the file sees its errors; this keeps a late one from being an unhandled 'error' event.
      stream.on('error', () => undefined);
      stream.once('limit', () => stream.destroy(new DomainException('PAYLOAD_TOO_LARGE', `The file is larger than ${Math.floor(maxBytes / (1024 * 1024))} MB`)));
      resolve({ stream, fileName: info.filename ?? null });
    });
    parser.on('error', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The upload was cut off or malformed')));
    parser.on('close', () => {
      if (!file) reject(new DomainException('VALIDATION_FAILED', `No file in the field "${field}"`));
    });
    req.on('aborted', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The client went away during the upload')));
    req.pipe(parser);
  });
}
