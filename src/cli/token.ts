import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/environment';
import { isRole, ROLES, type Role } from '../identity/principal';
import { TokenService } from '../identity/token.service';

const USAGE = `Usage: npm run token -- --role <${ROLES.join('|')}> --sub <subject> [--locale nl-NL] [--ttl 8h]
Prints an HS256 bearer token signed with JWT_SECRET (the demo secret when unset, outside production).`;

const TTL = /^(\d+)([smhd])$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** Mints a bearer token for local use and prints only the token, so it can be captured: TOKEN=$(npm run -s token ...). */
async function main(argv: string[]): Promise<number> {
  let values: { role?: string[]; sub?: string; locale?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string', multiple: true },
        sub: { type: 'string' },
        locale: { type: 'string' },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const roles = values.role ?? [];
  const bad = roles.filter((r) => !isRole(r));
  const ttl = TTL.exec(values.ttl ?? '8h');
  if (roles.length === 0 || bad.length > 0 || !values.sub || !ttl) {
    const reason = bad.length ? `unknown role: ${bad.join(', ')}` : !ttl ? 'bad --ttl (use e.g. 30m, 8h, 7d)' : 'missing --role or --sub';
    process.stderr.write(`${reason}\n${USAGE}\n`);
    return 2;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const tokens = new TokenService(AppConfig.fromEnv(process.env));
  const token = await tokens.mint({
    subject: values.sub,
    roles: roles as Role[],
    locale: values.locale,
    ttlSeconds: Number(ttl[1]) * UNIT_SECONDS[ttl[2] as keyof typeof UNIT_SECONDS],
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof ConfigError ? `Configuration error: ${err.message}` : (err as Error).message}\n`);
    process.exit(1);
  },
);
