import { AppConfig } from './app-config';
import { ConfigError, DEMO_JWT_SECRET, validateEnvironment } from './environment';

const SECRET = 'x'.repeat(40);

function reason(env: Record<string, string>): string {
  try {
    validateEnvironment(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('environment', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = AppConfig.fromEnv({});
    expect(config.env).toBe('development');
    expect(config.http.port).toBe(3000);
    expect(config.embeddedDatabase).toBe(true);
    expect(config.database.embedded?.dataDir).toMatch(/data[/\\]postgres$/);
    expect(config.storage).toEqual({ driver: 'fs', root: expect.stringMatching(/data[/\\]blobs$/) });
    expect(config.auth.demoSecret).toBe(true);
    expect(config.privacy.contactEmail).toBe('privacy@snelstart.nl');
    expect(config.timeouts).toEqual({ requestMs: 30_000, uploadIdleMs: 30_000 });
  });

  it('uses DATABASE_URL instead of the embedded server when given', () => {
    const config = AppConfig.fromEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' });
    expect(config.embeddedDatabase).toBe(false);
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/x');
  });

  it('ignores the rest of the process environment', () => {
    expect(() => validateEnvironment({ PATH: '/bin', npm_config_x: 'y' })).not.toThrow();
  });

  it('names the setting and what is allowed', () => {
    expect(reason({ STORAGE_DRIVER: 'ftp' })).toBe(
      'STORAGE_DRIVER must be one of the following values: fs, s3 ("ftp")',
    );
    expect(reason({ PORT: 'eighty' })).toMatch(/^PORT .*integer/);
    expect(reason({ PORT: '70000' })).toMatch(/^PORT must not be greater than 65535/);
    expect(reason({ LOG_LEVEL: 'loud' })).toMatch(/^LOG_LEVEL must be one of the following values: fatal, error/);
    expect(reason({ DATABASE_URL: 'mysql://x' })).toMatch(/^DATABASE_URL must be a postgres:\/\/ .* \(given\)$/);
    expect(reason({ PURGE_CRON: '99 * * * *' })).toMatch(/^PURGE_CRON: 99 \* \* \* \* is not a valid cron expression/);
    expect(reason({ PURGE_CRON: 'hourly' })).toMatch(/^PURGE_CRON must be a cron expression of 5 fields/);
    expect(reason({ RECONCILE_CRON: '30 25 * * *' })).toMatch(/^RECONCILE_CRON: 30 25 \* \* \* is not a valid cron expression/);
    expect(reason({ DISPLAY_TIME_ZONE: 'Mars/Olympus' })).toMatch(/^DISPLAY_TIME_ZONE: Mars\/Olympus is not a time zone/);
    expect(reason({ CONSENT_REQUEST_TTL_SECONDS: '5' })).toMatch(/^CONSENT_REQUEST_TTL_SECONDS must not be less than 30/);
    expect(reason({ UPLOAD_IDLE_TIMEOUT_SECONDS: '0' })).toMatch(/^UPLOAD_IDLE_TIMEOUT_SECONDS must not be less than 1/);
    expect(reason({ REQUEST_TIMEOUT_SECONDS: '3601' })).toMatch(/^REQUEST_TIMEOUT_SECONDS must not be greater than 3600/);
  });

  it('requires S3 settings only for the S3 driver', () => {
    expect(reason({ STORAGE_DRIVER: 's3' })).toBe(
      'S3_BUCKET must be an S3 bucket name (3-63 of a-z, 0-9, dot, hyphen, required when STORAGE_DRIVER=s3) (unset)',
    );
    expect(() => validateEnvironment({ STORAGE_DRIVER: 'fs', S3_BUCKET: 'Not A Bucket' })).not.toThrow();
    const config = AppConfig.fromEnv({ STORAGE_DRIVER: 's3', S3_BUCKET: 'evidence', S3_SSE: 'AES256' });
    expect(config.storage).toMatchObject({ driver: 's3', bucket: 'evidence', serverSideEncryption: 'AES256' });
    expect(reason({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b1b', S3_ACCESS_KEY_ID: 'k' })).toMatch(
      /^S3_SECRET_ACCESS_KEY is required when S3_ACCESS_KEY_ID is set/,
    );
  });

  it('refuses production without a secret, with the demo secret, or without a database', () => {
    const prod = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x' };
    expect(reason(prod)).toMatch(/^JWT_SECRET is required when NODE_ENV=production/);
    expect(reason({ ...prod, JWT_SECRET: 'short' })).toMatch(/^JWT_SECRET must be at least 32 characters \(given\)$/);
    expect(reason({ ...prod, JWT_SECRET: DEMO_JWT_SECRET })).toMatch(/published demo secret/);
    expect(reason({ NODE_ENV: 'production', JWT_SECRET: SECRET })).toMatch(/^DATABASE_URL .*required when NODE_ENV=production/);
    expect(AppConfig.fromEnv({ ...prod, JWT_SECRET: SECRET }).auth).toMatchObject({ demoSecret: false });
    // An OIDC issuer alone is enough to authenticate in production.
    expect(() => validateEnvironment({ ...prod, OIDC_ISSUER: 'https://login.example.com' })).not.toThrow();
  });

  it('reports every bad setting at once, on one line, without echoing secrets', () => {
    const message = reason({ PORT: '-1', STORAGE_DRIVER: 's3', JWT_SECRET: 'tiny-secret-value' });
    expect(message.split('; ')).toHaveLength(3);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('tiny-secret-value');
  });
});

describe('exposure defaults', () => {
  const SECRET = 'a-secret-of-our-own-that-is-long-enough';
  const reason = (raw: Record<string, string>) => {
    try {
      validateEnvironment(raw);
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('listens on loopback outside production, everywhere in production', () => {
    expect(AppConfig.fromEnv({}).http.host).toBe('127.0.0.1');
    expect(AppConfig.fromEnv({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', JWT_SECRET: SECRET }).http.host).toBe('0.0.0.0');
  });

  it('refuses the demo secret on an address other machines reach', () => {
    expect(reason({ HOST: '0.0.0.0' })).toMatch(/^HOST 0\.0\.0\.0 is not a loopback address, and without JWT_SECRET the service trusts the published demo secret/);
    expect(reason({ HOST: '192.0.2.10', JWT_SECRET: DEMO_JWT_SECRET })).toMatch(/not a loopback address/);
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) expect(reason({ HOST: host })).toBe('');
    expect(reason({ HOST: '0.0.0.0', JWT_SECRET: SECRET })).toBe('');
  });

  it('serves the API document publicly only outside production', () => {
    expect(AppConfig.fromEnv({}).apiDocs).toBe('public');
    expect(AppConfig.fromEnv({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', JWT_SECRET: SECRET }).apiDocs).toBe('off');
    expect(AppConfig.fromEnv({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', JWT_SECRET: SECRET, API_DOCS: 'staff' }).apiDocs).toBe('staff');
  });

  it('needs a Redis URL for the shared rate-limit store, and takes a list of socket origins', () => {
    expect(reason({ RATE_LIMIT_STORE: 'redis' })).toMatch(/^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(AppConfig.fromEnv({ SOCKET_ALLOWED_ORIGINS: 'https://a.example.nl/, https://b.example.nl' }).socketAllowedOrigins).toEqual(['https://a.example.nl', 'https://b.example.nl']);
    expect(reason({ SOCKET_ALLOWED_ORIGINS: 'a.example.nl' })).toMatch(/^SOCKET_ALLOWED_ORIGINS must be a comma-separated list/);
  });
});
