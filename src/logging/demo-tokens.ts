import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEMO_TOKENS_FILE = 'demo-tokens.txt';

export interface DemoTokenOutput {
  /** Whether stdout is a terminal (process.stdout.isTTY). */
  isTTY: boolean;
  dataDir: string;
  write(text: string): void;
}

/**
 * Demo tokens go to a terminal only: where stdout is not one, it is a log
 * (a container's, a service manager's) and anyone reading it could act as an
 * officer (R5.1). Then they go to a file only the owner reads, and stdout says where.
 * Never through the logger.
 */
export async function showDemoTokens(text: string, out: DemoTokenOutput): Promise<string | undefined> {
  if (out.isTTY) {
    out.write(text);
    return undefined;
  }
  await mkdir(out.dataDir, { recursive: true });
  const path = join(out.dataDir, DEMO_TOKENS_FILE);
  // A new file each time, created 0600: an older one (perhaps readable by others) never holds the tokens, even briefly.
  await rm(path, { force: true });
  await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  out.write(`Demo tokens (stdout is not a terminal) are in ${path} (readable by this user only)\n`);
  return path;
}
