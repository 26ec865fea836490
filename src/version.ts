import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package version, read once from the nearest package.json above this file (src/, dist/ or dist-bench/src/). */
export const VERSION: string = (JSON.parse(readFileSync(nearestPackageJson(__dirname), 'utf8')) as { version: string }).version;

function nearestPackageJson(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('package.json not found above the service');
  }
}
