import { existsSync } from 'node:fs';
import { AppConfig } from './app-config';
import { ConfigError } from './environment';

/**
 * The configuration a process starts with: `.env` (when present) under the
 * environment, validated. A bad setting ends the process with one line that
 * names it (exit 1), never a stack trace.
 */
export function loadConfigOrExit(): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return AppConfig.fromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
