import { applyDecorators } from '@nestjs/common';
import { Transform, plainToInstance } from 'class-transformer';
import { validateCronExpression } from 'cron';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  validateSync,
  type ValidationError,
} from 'class-validator';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const STORAGE_DRIVERS = ['fs', 's3'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const S3_SSE_MODES = ['none', 'AES256', 'aws:kms'] as const;
export const S3_CHECKSUM_MODES = ['WHEN_REQUIRED', 'WHEN_SUPPORTED'] as const;
export const SOCKET_ADAPTERS = ['memory', 'postgres'] as const;
export const RATE_LIMIT_STORES = ['memory', 'redis'] as const;
export const API_DOCS_MODES = ['public', 'staff', 'off'] as const;

/** Published in the README and refused in production, so nobody ships it. */
export const DEMO_JWT_SECRET = 'demo-secret-for-local-use-only-never-in-production';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};
/** An integer setting between min and max (environment values arrive as strings). */
const IntSetting = (min: number, max: number) => applyDecorators(Transform(toInt), IsInt(), Min(min), Max(max));

const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const isProduction = (e: EnvironmentVariables) => e.NODE_ENV === 'production';
const isS3 = (e: EnvironmentVariables) => e.STORAGE_DRIVER === 's3';

/**
 * Every setting the service reads, with its default and what is allowed.
 * The README's settings table mirrors this class.
 */
export class EnvironmentVariables {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  /** Unset: 127.0.0.1 outside production (the demo secret is for this machine only), 0.0.0.0 in production. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  HOST?: string;

  @IntSetting(0, 65535)
  PORT: number = 3000;

  /** Proxies in front of the service whose X-Forwarded-For is trusted (0: none; the socket's address counts). */
  @IntSetting(0, 10)
  TRUST_PROXY: number = 0;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /** Root of everything the embedded defaults keep on disk. */
  @IsString()
  @MinLength(1)
  DATA_DIR: string = './data';

  // --- database -----------------------------------------------------------
  /** When unset (and not in production) the app starts its own PostgreSQL under DATA_DIR. */
  @Transform(emptyToUndefined)
  @ValidateIf((e: EnvironmentVariables) => isProduction(e) || e.DATABASE_URL !== undefined)
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'must be a postgres:// or postgresql:// URL (required when NODE_ENV=production)',
  })
  DATABASE_URL?: string;

  @IntSetting(1, 65535)
  EMBEDDED_PG_PORT: number = 54329;

  @IntSetting(1, 200)
  DATABASE_POOL_SIZE: number = 10;

  // --- blob storage -------------------------------------------------------
  @IsIn(STORAGE_DRIVERS)
  STORAGE_DRIVER: (typeof STORAGE_DRIVERS)[number] = 'fs';

  /** Filesystem store root; defaults to DATA_DIR/blobs. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  STORAGE_FS_ROOT?: string;

  @Transform(emptyToUndefined)
  @ValidateIf(isS3)
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message: 'must be an S3 bucket name (3-63 of a-z, 0-9, dot, hyphen, required when STORAGE_DRIVER=s3)',
  })
  S3_BUCKET?: string;

  @IsString()
  @MinLength(1)
  S3_REGION: string = 'us-east-1';

  /** For MinIO or another S3-compatible server; unset means AWS. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  S3_ENDPOINT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  S3_ACCESS_KEY_ID?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((e: EnvironmentVariables) => e.S3_ACCESS_KEY_ID !== undefined)
  @IsString({ message: 'is required when S3_ACCESS_KEY_ID is set' })
  S3_SECRET_ACCESS_KEY?: string;

  @Transform(toBool)
  @IsBoolean()
  S3_FORCE_PATH_STYLE: boolean = false;

  /** Server-side encryption at rest (R5.1). */
  @IsIn(S3_SSE_MODES)
  S3_SSE: (typeof S3_SSE_MODES)[number] = 'none';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  S3_SSE_KMS_KEY_ID?: string;

  /** WHEN_REQUIRED keeps streamed uploads plain (some S3 servers store aws-chunked framing). */
  @IsIn(S3_CHECKSUM_MODES)
  S3_CHECKSUMS: (typeof S3_CHECKSUM_MODES)[number] = 'WHEN_REQUIRED';

  @IntSetting(5, 512)
  S3_PART_SIZE_MB: number = 8;

  @IntSetting(1, 16)
  S3_QUEUE_SIZE: number = 4;

  // --- identity -----------------------------------------------------------
  @Transform(emptyToUndefined)
  @ValidateIf(
    (e: EnvironmentVariables) => e.JWT_SECRET !== undefined || (isProduction(e) && e.OIDC_ISSUER === undefined),
  )
  @IsString({ message: 'is required when NODE_ENV=production (unless OIDC_ISSUER is set)' })
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsString()
  @MinLength(1)
  JWT_ISSUER: string = 'support-desk';

  @IsString()
  @MinLength(1)
  JWT_AUDIENCE: string = 'support-desk';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OIDC_ISSUER?: string;

  /** Defaults to the issuer's discovery document's jwks_uri. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  OIDC_JWKS_URI?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  OIDC_AUDIENCE?: string;

  @IsString()
  @MinLength(1)
  @MaxLength(200)
  OIDC_ROLES_CLAIM: string = 'roles';

  /** Longest lifetime (exp - iat) of a staff token; longer ones are refused. */
  @IntSetting(1, 168)
  STAFF_TOKEN_MAX_HOURS: number = 12;

  /** Longest lifetime of a customer token. */
  @IntSetting(1, 720)
  CUSTOMER_TOKEN_MAX_HOURS: number = 24;

  /** Clock difference allowed between the token issuer and this service. */
  @IntSetting(0, 300)
  TOKEN_CLOCK_SKEW_SECONDS: number = 60;

  /** Who may read /docs and /docs/json; unset: public outside production, off in production. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(API_DOCS_MODES)
  API_DOCS?: (typeof API_DOCS_MODES)[number];

  // --- abuse limits ---------------------------------------------------------
  /** Where rate-limit counters live: this instance's memory, or Redis (shared by every instance). */
  @IsIn(RATE_LIMIT_STORES)
  RATE_LIMIT_STORE: (typeof RATE_LIMIT_STORES)[number] = 'memory';

  @Transform(emptyToUndefined)
  @ValidateIf((e: EnvironmentVariables) => e.RATE_LIMIT_STORE === 'redis' || e.REDIS_URL !== undefined)
  @Matches(/^rediss?:\/\/\S+$/, { message: 'must be a redis:// or rediss:// URL (required when RATE_LIMIT_STORE=redis)' })
  REDIS_URL?: string;

  /** Requests and socket events per signed-in principal per minute (chat sends have their own limit). */
  @IntSetting(1, 1_000_000)
  RATE_LIMIT_PER_MINUTE: number = 600;

  /** Requests per client address per minute on routes without a token, and failed sign-ins. */
  @IntSetting(1, 1_000_000)
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: number = 120;

  /** Requests per address per minute to the phone system's signed routes. */
  @IntSetting(1, 10_000_000)
  RATE_LIMIT_WEBHOOK_PER_MINUTE: number = 6000;

  /** Open sockets per principal on one instance. */
  @IntSetting(1, 10_000)
  SOCKETS_PER_PRINCIPAL_MAX: number = 10;

  /** Chats a customer may have open at once (the agents' queue is shared by everyone). */
  @IntSetting(1, 10_000)
  OPEN_CONVERSATIONS_PER_CUSTOMER_MAX: number = 3;

  /** After a "no" or an unanswered request, the pause before the same purpose may be asked again in a conversation (R1.1). */
  @IntSetting(0, 86_400)
  CONSENT_REQUEST_COOLDOWN_SECONDS: number = 300;

  /** Times one purpose may be asked in one conversation. */
  @IntSetting(1, 1000)
  CONSENT_REQUESTS_PER_CONVERSATION_MAX: number = 3;

  /** Bytes of attachments and diagnostics stored per customer in any 24 hours. */
  @IntSetting(1, 1_048_576)
  CUSTOMER_UPLOAD_MB_PER_DAY: number = 2048;

  /** Browser origins allowed to open sockets, comma-separated; the service's own origin and loopback always are. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^\s*https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*\s*$/, { message: 'must be a comma-separated list of http(s):// origins' })
  SOCKET_ALLOWED_ORIGINS?: string;

  // --- chat and telephony -------------------------------------------------
  /** `postgres` lets Socket.IO rooms span several instances on one database. */
  @IsIn(SOCKET_ADAPTERS)
  SOCKET_ADAPTER: (typeof SOCKET_ADAPTERS)[number] = 'memory';

  @IntSetting(1, 1_000_000)
  CHAT_MESSAGE_MAX_LENGTH: number = 10_000;

  /** Sustained sends per socket per second (token bucket). */
  @IntSetting(1, 100_000)
  CHAT_RATE_LIMIT_PER_SECOND: number = 10;

  @IntSetting(1, 100_000)
  CHAT_RATE_LIMIT_BURST: number = 30;

  /** Shared secret the phone system signs webhook requests with (HMAC-SHA256); unset = webhook off. */
  @Transform(emptyToUndefined)
  @ValidateIf((e: EnvironmentVariables) => e.TELEPHONY_WEBHOOK_SECRET !== undefined)
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  TELEPHONY_WEBHOOK_SECRET?: string;

  // --- privacy ------------------------------------------------------------
  /** Shown on every privacy page and refusal (R9.1). */
  @IsEmail()
  PRIVACY_CONTACT_EMAIL: string = 'privacy@snelstart.nl';

  /** Time zone for dates shown to customers (prompt deadlines, effective dates). */
  @IsString()
  @Matches(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, { message: 'must be an IANA time zone such as Europe/Amsterdam' })
  DISPLAY_TIME_ZONE: string = 'Europe/Amsterdam';

  // --- captured data --------------------------------------------------------
  /** Largest chat attachment (larger: 413, nothing stored). */
  @IntSetting(1, 10_240)
  ATTACHMENT_MAX_MB: number = 25;

  /** Largest diagnostics bundle. */
  @IntSetting(1, 10_240)
  DIAGNOSTICS_MAX_MB: number = 1024;

  /** Largest call recording segment or transcript from the phone system. */
  @IntSetting(1, 10_240)
  RECORDING_MAX_MB: number = 1024;

  /** An upload that sends no byte for this long is dropped: 408, nothing kept. */
  @IntSetting(1, 3600)
  UPLOAD_IDLE_TIMEOUT_SECONDS: number = 30;

  /** Time to receive an ordinary (non-upload) request's body; uploads have the hour and the idle timeout. */
  @IntSetting(1, 3600)
  REQUEST_TIMEOUT_SECONDS: number = 30;

  // --- retention ------------------------------------------------------------
  /** When the purge runs (cron, 5 fields); every instance schedules it, one runs at a time. */
  @IsString()
  @Matches(/^(\S+\s+){4}\S+$/, { message: 'must be a cron expression of 5 fields, e.g. */15 * * * *' })
  PURGE_CRON: string = '*/15 * * * *';

  /** When the reconciler runs (cron, 5 fields): objects without rows are deleted, rows without objects marked (R10.5). */
  @IsString()
  @Matches(/^(\S+\s+){4}\S+$/, { message: 'must be a cron expression of 5 fields, e.g. 30 3 * * *' })
  RECONCILE_CRON: string = '30 3 * * *';

  /** Most items one run purges (the rest wait for the next run). */
  @IntSetting(1, 10_000_000)
  PURGE_MAX_ITEMS_PER_RUN: number = 100_000;

  // --- consent --------------------------------------------------------------
  /** How long a customer has to answer a consent request; unanswered, it expires (silence is not consent, R1.1). */
  @IntSetting(30, 86_400)
  CONSENT_REQUEST_TTL_SECONDS: number = 600;

  /** How often pending requests past their time are expired (and the agent told). */
  @IntSetting(1, 3_600)
  CONSENT_EXPIRY_SWEEP_SECONDS: number = 10;

  /** Life of the single-use diagnostics upload token issued with a grant (R3.2). */
  @IntSetting(60, 86_400)
  DIAGNOSTICS_UPLOAD_TOKEN_TTL_SECONDS: number = 900;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates raw environment values; throws ConfigError with one line per bad setting. */
export function validateEnvironment(raw: Record<string, string | undefined>): EnvironmentVariables {
  // Only our own settings: the rest of the process environment is none of our business.
  const known = new Set<string>([...Object.keys(new EnvironmentVariables()), ...OPTIONAL_KEYS]);
  const input: Record<string, string> = {};
  for (const key of known) {
    const value = raw[key];
    if (value !== undefined) input[key] = value;
  }
  const env = plainToInstance(EnvironmentVariables, input);
  const errors = validateSync(env, { skipMissingProperties: false });
  const extra = crossFieldErrors(env);
  if (errors.length > 0 || extra.length > 0) {
    const lines = [...errors.map((e) => describe(e, raw)), ...extra];
    throw new ConfigError(lines.join('; '));
  }
  return env;
}

const OPTIONAL_KEYS = [
  'HOST',
  'API_DOCS',
  'REDIS_URL',
  'SOCKET_ALLOWED_ORIGINS',
  'DATABASE_URL',
  'STORAGE_FS_ROOT',
  'S3_BUCKET',
  'S3_ENDPOINT',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_SSE_KMS_KEY_ID',
  'JWT_SECRET',
  'OIDC_ISSUER',
  'OIDC_JWKS_URI',
  'OIDC_AUDIENCE',
  'TELEPHONY_WEBHOOK_SECRET',
] as const;

function crossFieldErrors(env: EnvironmentVariables): string[] {
  const out: string[] = [];
  if (env.NODE_ENV === 'production' && env.JWT_SECRET === DEMO_JWT_SECRET) {
    out.push('JWT_SECRET is the published demo secret; set a secret of your own in production');
  }
  for (const name of ['PURGE_CRON', 'RECONCILE_CRON'] as const) {
    const cron = validateCronExpression(env[name]);
    if (!cron.valid) out.push(`${name}: ${env[name]} is not a valid cron expression (${cron.error?.message ?? 'invalid'})`);
  }
  if (!isTimeZone(env.DISPLAY_TIME_ZONE)) {
    out.push(`DISPLAY_TIME_ZONE: ${env.DISPLAY_TIME_ZONE} is not a time zone this runtime knows`);
  }
  if (usesDemoSecret(env) && !isLoopback(env.HOST ?? defaultHost(env))) {
    // Anyone can mint an admin token with the published secret: only this machine may reach it.
    out.push(`HOST ${env.HOST} is not a loopback address, and without JWT_SECRET the service trusts the published demo secret; bind to 127.0.0.1 or set JWT_SECRET (or OIDC_ISSUER)`);
  }
  if (env.OIDC_JWKS_URI && !env.OIDC_ISSUER) {
    out.push('OIDC_JWKS_URI needs OIDC_ISSUER as well');
  }
  return out;
}

/** Outside production, without a secret of one's own, locally signed tokens use the published demo secret. */
export function usesDemoSecret(env: Pick<EnvironmentVariables, 'NODE_ENV' | 'JWT_SECRET'>): boolean {
  return env.NODE_ENV !== 'production' && (env.JWT_SECRET === undefined || env.JWT_SECRET === DEMO_JWT_SECRET);
}

export function defaultHost(env: Pick<EnvironmentVariables, 'NODE_ENV'>): string {
  return env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1';
}

export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function describe(error: ValidationError, raw: Record<string, string | undefined>): string {
  const given = raw[error.property];
  let reasons = Object.values(error.constraints ?? {}).map((m) =>
    m.startsWith(error.property + ' ') ? m.slice(error.property.length + 1) : m,
  );
  // For a missing value, "is required" is the whole story.
  const required = reasons.filter((r) => r.startsWith('is required'));
  if (given === undefined && required.length > 0) reasons = required;
  const shown = given === undefined ? 'unset' : isSecret(error.property) ? 'given' : JSON.stringify(given);
  return `${error.property} ${reasons.join(', ')} (${shown})`;
}

function isSecret(name: string): boolean {
  return /SECRET|PASSWORD|KEY|DATABASE_URL/.test(name);
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
