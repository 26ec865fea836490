import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { inspectContent, sanitizeFileName } from './content-inspection';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('inspectContent', () => {
  it('detects the type from the bytes and hands back the whole stream', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(100_000)]);
    const chunks = [pdf.subarray(0, 10), pdf.subarray(10, 5000), pdf.subarray(5000)];
    const inspected = await inspectContent(Readable.from(chunks), 'scan.png');
    expect(inspected.contentType).toBe('application/pdf');
    expect((await drain(inspected.body)).equals(pdf)).toBe(true);
  });

  it('calls valid UTF-8 text text, and anything else octet-stream', async () => {
    expect((await inspectContent(Readable.from([Buffer.from('Goedemiddag, één vraag\n')]), null)).contentType).toBe('text/plain; charset=utf-8');
    expect((await inspectContent(Readable.from([Buffer.from([0xff, 0x00, 0x10])]), null)).contentType).toBe('application/octet-stream');
    const empty = await inspectContent(Readable.from([]), null);
    expect(empty.contentType).toBe('application/octet-stream');
    expect((await drain(empty.body)).length).toBe(0);
  });

  it.each([
    ['a Windows program', Buffer.concat([Buffer.from('4d5a90000300000004000000ffff0000', 'hex'), Buffer.alloc(512)]), 'report.pdf'],
    ['a Linux program', Buffer.concat([Buffer.from('7f454c46020101', 'hex'), Buffer.alloc(512)]), 'data'],
    ['a script', Buffer.from('#!/usr/bin/env python\nprint(1)\n'), 'notes.txt'],
    ['a .ps1 name', Buffer.from('Write-Host hi'), 'setup.PS1'],
  ])('refuses %s', async (_label, bytes, name) => {
    await expect(inspectContent(Readable.from([bytes]), name)).rejects.toMatchObject({ code: 'BLOCKED_FILE_TYPE' });
  });
});

describe('sanitizeFileName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\jan\\Factuur 12.pdf', 'Factuur 12.pdf'],
    ['  .hidden. ', 'hidden'],
    ['a<b>c:"d"|e?f*.txt', 'a_b_c__d__e_f_.txt'],
    ['bad\u0000name\u001f.txt', 'badname.txt'],
    ['', null],
    ['...', null],
  ])('%s -> %s', (raw, clean) => {
    expect(sanitizeFileName(raw)).toBe(clean);
  });

  it('keeps the extension when it shortens a long name', () => {
    const name = sanitizeFileName(`${'x'.repeat(300)}.pdf`)!;
    expect(name).toHaveLength(200);
    expect(name.endsWith('.pdf')).toBe(true);
  });
});
