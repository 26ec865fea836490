import busboy from 'busboy';
import type { Request } from 'express';
import { PassThrough, type Readable } from 'node:stream';
import { DomainException } from '../errors/domain.exception';
import { failStream, stopReading, watchUpload } from '../http/request-timeouts';

export interface UploadedFile {
  stream: Readable;
  fileName: string | null;
}

/**
 * The one file of a multipart/form-data request, as a stream: nothing is
 * buffered or written to disk on the way. The stream ends only once the whole
 * request has been read, so a second file (in any field: 400 TOO_MANY_FILES),
 * a body cut off before its closing boundary (400 UPLOAD_INCOMPLETE), a file
 * over `maxBytes`, an upload gone quiet (408) or a client that goes away fail
 * it, and whoever consumes it stops and removes what it wrote.
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
    const out = new PassThrough();
    let found = false;
    let failed = false;
    let fileEnded = false;
    let parsed = false;
    const fail = (err: DomainException) => {
      if (failed) return;
      failed = true;
      if (found) failStream(out, err);
      else reject(err);
      stopReading(req, parser);
    };
    const finish = () => {
      if (!failed && fileEnded && parsed) out.end();
    };
    const tooMany = () => fail(new DomainException('TOO_MANY_FILES', `Send one file, in the field "${field}"`));
    // The consumer stopped early (refused, or failed itself): read no more of the request.
    out.once('close', () => {
      if (!parsed) stopReading(req, parser);
    });
    parser.on('file', (name, stream, info) => {
      stream.on('error', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The upload was cut off or malformed')));
      if (name !== field) {
        // A file elsewhere: refused as one too many if the right one follows, as missing otherwise.
        stream.resume();
        return;
      }
      found = true;
      stream.once('limit', () => fail(new DomainException('PAYLOAD_TOO_LARGE', `The file is larger than ${Math.floor(maxBytes / (1024 * 1024))} MB`)));
      stream.once('end', () => {
        fileEnded = true;
        finish();
      });
      stream.pipe(out, { end: false });
      resolve({ stream: out, fileName: info.filename ?? null });
    });
    parser.on('filesLimit', tooMany);
    parser.on('error', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The upload was cut off before its closing boundary, or is malformed')));
    parser.on('close', () => {
      parsed = true;
      if (!found) fail(new DomainException('VALIDATION_FAILED', `No file in the field "${field}"`));
      else finish();
    });
    req.on('aborted', () => fail(new DomainException('UPLOAD_INCOMPLETE', 'The client went away during the upload')));
    watchUpload(req, fail);
    req.pipe(parser);
  });
}
