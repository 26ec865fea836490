import { fileTypeFromBuffer } from 'file-type';
import { extname } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { DomainException } from '../errors/domain.exception';

/** Enough for every signature the detector knows. */
const HEAD_BYTES = 4100;

/** Programs and scripts are refused, whatever they are called or claim to be. */
const BLOCKED_TYPES = new Set([
  'application/x-msdownload',
  'application/vnd.microsoft.portable-executable',
  'application/x-msi',
  'application/x-elf',
  'application/x-mach-binary',
  'application/x-sharedlib',
  'application/x-executable',
  'application/java-archive',
  'application/vnd.android.package-archive',
  'application/x-apple-diskimage',
]);
const BLOCKED_EXTENSIONS = new Set([
  '.exe', '.dll', '.com', '.scr', '.msi', '.msp', '.bat', '.cmd', '.ps1', '.psm1', '.vbs', '.vbe', '.js', '.jse', '.wsf', '.wsh',
  '.hta', '.cpl', '.lnk', '.jar', '.apk', '.app', '.dmg', '.sh', '.bin', '.elf', '.so', '.dylib', '.reg', '.pif',
]);

/**
 * What a diagnostics bundle collects with the customer's consent (R3.2:
 * installed software and registry, error reports with file contents) is not
 * refused for looking binary: registry exports, raw and memory dumps, core
 * files. Programs and scripts still are.
 */
const DIAGNOSTIC_EXTENSIONS = new Set(['.reg', '.bin', '.dmp', '.core']);

export type ContentPolicy = 'default' | 'diagnostics';

export interface Inspected {
  /** Detected from the bytes: the client's claim is not used. */
  contentType: string;
  /** The whole body again, head included. */
  body: Readable;
}

/**
 * Reads the first bytes of a stream to detect its type (file signatures;
 * otherwise UTF-8 text or octet-stream), refuses programs and scripts, and
 * hands back the whole stream, never holding more than the head in memory.
 */
export async function inspectContent(source: Readable, fileName: string | null, policy: ContentPolicy = 'default'): Promise<Inspected> {
  const extension = fileName ? extname(fileName).toLowerCase() : '';
  const diagnostics = policy === 'diagnostics';
  if (BLOCKED_EXTENSIONS.has(extension) && !(diagnostics && DIAGNOSTIC_EXTENSIONS.has(extension))) throw blocked(`files ending in ${extension}`);
  const head = await readHead(source, HEAD_BYTES);
  let contentType = await detect(head);
  // An ELF core file is a memory dump, not a program (e_type 4 = ET_CORE).
  if (diagnostics && contentType === 'application/x-elf' && isElfCore(head)) contentType = 'application/x-coredump';
  if (BLOCKED_TYPES.has(contentType)) throw blocked('programs');
  if (head.subarray(0, 2).toString('latin1') === '#!') throw blocked('scripts');
  // A small body that already ended is the head alone.
  if (source.readableEnded) return { contentType, body: Readable.from(head.length > 0 ? [head] : []) };
  // Otherwise back into the source's own buffer: the upload reads the source itself, no extra stream in between.
  if (head.length > 0) source.unshift(head);
  return { contentType, body: source };
}

/** Up to `size` bytes from the start of a stream (fewer if it ends first), leaving it paused. */
function readHead(source: Readable, size: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (err?: Error) => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', done);
      source.off('close', onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, length));
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (length < size && (chunk = source.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        length += chunk.length;
      }
      if (length >= size) done();
    };
    const onEnd = () => done();
    const onClose = () => (source.readableEnded ? done() : done(new Error('the upload ended early')));
    source.on('readable', onReadable);
    source.once('end', onEnd);
    source.once('error', done);
    source.once('close', onClose);
    if (source.readableEnded) done();
    // Already destroyed: no event will come again, so answer now rather than wait forever.
    else if (source.destroyed) done(source.errored ?? new Error('the upload ended early'));
  });
}

async function detect(head: Buffer): Promise<string> {
  const type = await fileTypeFromBuffer(head);
  if (type) return type.mime;
  if (head.length > 0 && !head.includes(0) && isUtf8Start(head)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

function isElfCore(head: Buffer): boolean {
  if (head.length < 18) return false;
  const littleEndian = head[5] === 1;
  return (littleEndian ? head.readUInt16LE(16) : head.readUInt16BE(16)) === 4;
}

function isUtf8Start(head: Buffer): boolean {
  try {
    // stream: true tolerates a character cut off at the end of the head.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

const blocked = (what: string) => new DomainException('BLOCKED_FILE_TYPE', `This file type is not accepted (${what} are refused)`);

/** Passes bytes on, and fails the stream as soon as there are more than `max`. */
export class SizeLimit extends Transform {
  bytes = 0;

  /** `tooLarge`: the error past `max` (default: the file is over its size limit). */
  constructor(
    private readonly max: number,
    private readonly tooLarge: () => Error = () => new DomainException('PAYLOAD_TOO_LARGE', `The file is larger than ${Math.floor(max / (1024 * 1024))} MB`),
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      done(this.tooLarge());
      return;
    }
    done(null, chunk);
  }
}

/**
 * A file name safe to store and to send back in Content-Disposition: no
 * path, no control or reserved characters, at most 200 characters with its
 * extension kept.
 */
export function sanitizeFileName(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const base = raw.split(/[\\/]/).pop() ?? '';
  let name = base
    .normalize('NFC')
    // Control and format characters (a right-to-left override makes "gpj.exe" read as "exe.jpg").
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  if (name.length > 200) {
    const ext = extname(name).slice(0, 20);
    name = `${name.slice(0, 200 - ext.length)}${ext}`;
  }
  return name || null;
}
