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

describe('inspectContent for diagnostics (R3.2: what the purpose collects)', () => {
  const elf = (type: number) => {
    const head = Buffer.alloc(64);
    Buffer.from('7f454c46020101', 'hex').copy(head);
    head.writeUInt16LE(type, 16);
    return head;
  };
  const regExport = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Windows Registry Editor Version 5.00\r\n', 'utf16le')]);

  it('accepts a registry export, a memory dump and a core file', async () => {
    await expect(inspectContent(Readable.from([regExport]), 'snelstart.reg', 'diagnostics')).resolves.toMatchObject({ contentType: 'application/x-ms-regedit' });
    await expect(inspectContent(Readable.from([Buffer.from('MDMP\x93\xa7\x00\x00')]), 'crash.dmp', 'diagnostics')).resolves.toBeDefined();
    await expect(inspectContent(Readable.from([randomBytes(256)]), 'memory.bin', 'diagnostics')).resolves.toBeDefined();
    await expect(inspectContent(Readable.from([elf(4)]), 'core', 'diagnostics')).resolves.toMatchObject({ contentType: 'application/x-coredump' });
  });

  it('still refuses programs and scripts', async () => {
    await expect(inspectContent(Readable.from([elf(2)]), 'core', 'diagnostics')).rejects.toMatchObject({ code: 'BLOCKED_FILE_TYPE' });
    await expect(inspectContent(Readable.from([Buffer.from('#!/bin/sh\n')]), 'x.txt', 'diagnostics')).rejects.toMatchObject({ code: 'BLOCKED_FILE_TYPE' });
    await expect(inspectContent(Readable.from([Buffer.from('x')]), 'setup.exe', 'diagnostics')).rejects.toMatchObject({ code: 'BLOCKED_FILE_TYPE' });
  });

  it('keeps refusing a registry file as a chat attachment (importing one changes the registry)', async () => {
    await expect(inspectContent(Readable.from([regExport]), 'fix.reg')).rejects.toMatchObject({ code: 'BLOCKED_FILE_TYPE' });
  });
});

describe('inspectContent on a stream that is already gone', () => {
  it('fails at once instead of waiting for data that never comes', async () => {
    const source = new Readable({ read() {} });
    source.on('error', () => undefined);
    source.destroy(new Error('client went away'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(inspectContent(source, 'x.txt')).rejects.toThrow('client went away');
  });
});
