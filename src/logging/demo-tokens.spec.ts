import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_TOKENS_FILE, showDemoTokens } from './demo-tokens';

describe('showDemoTokens', () => {
  let dataDir: string;
  let written: string;
  const text = 'Demo tokens:\n  agent  eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2ln\n';
  const out = (isTTY: boolean) => ({ isTTY, dataDir, write: (t: string) => void (written += t) });

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'demo-tokens-'));
    written = '';
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('writes them to a terminal, and no file', async () => {
    expect(await showDemoTokens(text, out(true))).toBeUndefined();
    expect(written).toBe(text);
    await expect(stat(join(dataDir, DEMO_TOKENS_FILE))).rejects.toThrow();
  });

  it('when stdout is not a terminal (a log), writes them to a file only the owner reads and says where, without a token', async () => {
    const path = await showDemoTokens(text, out(false));
    expect(path).toBe(join(dataDir, DEMO_TOKENS_FILE));
    expect(await readFile(path!, 'utf8')).toBe(text);
    expect((await stat(path!)).mode & 0o777).toBe(0o600);
    expect(written).toContain(path);
    expect(written).not.toContain('eyJ');
  });

  it('tightens the mode of a file left from before', async () => {
    const path = join(dataDir, DEMO_TOKENS_FILE);
    await writeFile(path, 'old', { mode: 0o644 });
    await showDemoTokens(text, out(false));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe(text);
  });
});
