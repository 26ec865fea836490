import { resolve } from 'node:path';
import { DEMO_JWT_SECRET, defaultHost, validateEnvironment, type EnvironmentVariables } from './environment';

export type NodeEnv = EnvironmentVariables['NODE_ENV'];

export interface FsStorageConfig {
  driver: 'fs';
  root: string;
}

export interface S3StorageConfig {
  driver: 's3';
  bucket: string;
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  serverSideEncryption?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  checksums: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
  partSizeBytes: number;
  queueSize: number;
}

export type StorageConfig = FsStorageConfig | S3StorageConfig;

export interface DatabaseConfig {
  /** Set when an external PostgreSQL is configured; otherwise `embedded` says where to start one. */
  url?: string;
  embedded?: { dataDir: string; port: number };
  poolSize: number;
}

export interface AuthConfig {
  /** HS256 secret for locally minted tokens; absent when only OIDC is trusted. */
  hs256Secret?: string;
  /** True when the published demo secret is in use (never in production). */
  demoSecret: boolean;
  issuer: string;
  audience: string;
  oidc?: { issuer: string; jwksUri?: string; audience?: string; rolesClaim: string };
  /** Longest token lifetimes accepted, and the clock skew allowed (seconds). */
  maxLifetimeSeconds: { staff: number; customer: number };
  clockSkewSeconds: number;
}

export interface LimitsConfig {
  store: 'memory' | 'redis';
  redisUrl?: string;
  perPrincipalPerMinute: number;
  anonymousPerMinute: number;
  webhookPerMinute: number;
  socketsPerPrincipal: number;
  openConversationsPerCustomer: number;
  consentCooldownSeconds: number;
  consentRequestsPerConversation: number;
  customerUploadBytesPerDay: number;
}

/**
 * The service's typed, validated configuration. Built once from the environment
 * (see environment.ts for every setting) and injected by class.
 */
export class AppConfig {
  readonly env: NodeEnv;
  readonly http: { host: string; port: number; trustProxyHops: number };
  readonly logLevel: EnvironmentVariables['LOG_LEVEL'];
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly storage: StorageConfig;
  readonly auth: AuthConfig;
  readonly privacy: { contactEmail: string; displayTimeZone: string };
  readonly consent: { requestTtlSeconds: number; expirySweepSeconds: number; uploadTokenTtlSeconds: number };
  readonly chat: { maxMessageLength: number; ratePerSecond: number; rateBurst: number; socketAdapter: 'memory' | 'postgres' };
  readonly telephony: { webhookSecret?: string };
  readonly purge: { cron: string; reconcileCron: string; maxItemsPerRun: number };
  readonly capture: { attachmentMaxBytes: number; diagnosticsMaxBytes: number; recordingMaxBytes: number };
  /** How long a request body may take (ordinary requests), and how long an upload may go quiet. */
  readonly timeouts: { requestMs: number; uploadIdleMs: number };
  readonly limits: LimitsConfig;
  /** Who may read the API document: anyone, staff with a token, or nobody. */
  readonly apiDocs: 'public' | 'staff' | 'off';
  /** Browser origins allowed to open sockets besides the service's own and loopback. */
  readonly socketAllowedOrigins: string[];

  constructor(e: EnvironmentVariables) {
    this.env = e.NODE_ENV;
    this.http = { host: e.HOST ?? defaultHost(e), port: e.PORT, trustProxyHops: e.TRUST_PROXY };
    this.logLevel = e.LOG_LEVEL;
    this.dataDir = resolve(e.DATA_DIR);
    this.database = {
      url: e.DATABASE_URL,
      embedded: e.DATABASE_URL
        ? undefined
        : { dataDir: resolve(this.dataDir, 'postgres'), port: e.EMBEDDED_PG_PORT },
      poolSize: e.DATABASE_POOL_SIZE,
    };
    this.storage =
      e.STORAGE_DRIVER === 's3'
        ? {
            driver: 's3',
            bucket: e.S3_BUCKET as string,
            region: e.S3_REGION,
            endpoint: e.S3_ENDPOINT,
            credentials:
              e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
                ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
                : undefined,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
            serverSideEncryption: e.S3_SSE === 'none' ? undefined : e.S3_SSE,
            kmsKeyId: e.S3_SSE_KMS_KEY_ID,
            checksums: e.S3_CHECKSUMS,
            partSizeBytes: e.S3_PART_SIZE_MB * 1024 * 1024,
            queueSize: e.S3_QUEUE_SIZE,
          }
        : { driver: 'fs', root: resolve(e.STORAGE_FS_ROOT ?? resolve(this.dataDir, 'blobs')) };
    // Outside production, tokens work out of the box with the demo secret.
    const secret = e.JWT_SECRET ?? (e.NODE_ENV === 'production' ? undefined : DEMO_JWT_SECRET);
    this.auth = {
      hs256Secret: secret,
      demoSecret: secret === DEMO_JWT_SECRET,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      oidc: e.OIDC_ISSUER
        ? {
            issuer: e.OIDC_ISSUER,
            jwksUri: e.OIDC_JWKS_URI,
            audience: e.OIDC_AUDIENCE,
            rolesClaim: e.OIDC_ROLES_CLAIM,
          }
        : undefined,
      maxLifetimeSeconds: { staff: e.STAFF_TOKEN_MAX_HOURS * 3600, customer: e.CUSTOMER_TOKEN_MAX_HOURS * 3600 },
      clockSkewSeconds: e.TOKEN_CLOCK_SKEW_SECONDS,
    };
    this.privacy = { contactEmail: e.PRIVACY_CONTACT_EMAIL, displayTimeZone: e.DISPLAY_TIME_ZONE };
    this.consent = {
      requestTtlSeconds: e.CONSENT_REQUEST_TTL_SECONDS,
      expirySweepSeconds: e.CONSENT_EXPIRY_SWEEP_SECONDS,
      uploadTokenTtlSeconds: e.DIAGNOSTICS_UPLOAD_TOKEN_TTL_SECONDS,
    };
    this.chat = {
      maxMessageLength: e.CHAT_MESSAGE_MAX_LENGTH,
      ratePerSecond: e.CHAT_RATE_LIMIT_PER_SECOND,
      rateBurst: e.CHAT_RATE_LIMIT_BURST,
      socketAdapter: e.SOCKET_ADAPTER,
    };
    this.telephony = { webhookSecret: e.TELEPHONY_WEBHOOK_SECRET };
    this.purge = { cron: e.PURGE_CRON, reconcileCron: e.RECONCILE_CRON, maxItemsPerRun: e.PURGE_MAX_ITEMS_PER_RUN };
    const mb = 1024 * 1024;
    this.limits = {
      store: e.RATE_LIMIT_STORE,
      redisUrl: e.REDIS_URL,
      perPrincipalPerMinute: e.RATE_LIMIT_PER_MINUTE,
      anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      webhookPerMinute: e.RATE_LIMIT_WEBHOOK_PER_MINUTE,
      socketsPerPrincipal: e.SOCKETS_PER_PRINCIPAL_MAX,
      openConversationsPerCustomer: e.OPEN_CONVERSATIONS_PER_CUSTOMER_MAX,
      consentCooldownSeconds: e.CONSENT_REQUEST_COOLDOWN_SECONDS,
      consentRequestsPerConversation: e.CONSENT_REQUESTS_PER_CONVERSATION_MAX,
      customerUploadBytesPerDay: e.CUSTOMER_UPLOAD_MB_PER_DAY * 1024 * 1024,
    };
    this.apiDocs = e.API_DOCS ?? (e.NODE_ENV === 'production' ? 'off' : 'public');
    this.socketAllowedOrigins = (e.SOCKET_ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim().replace(/\/+$/, ''))
      .filter(Boolean);
    this.capture = { attachmentMaxBytes: e.ATTACHMENT_MAX_MB * mb, diagnosticsMaxBytes: e.DIAGNOSTICS_MAX_MB * mb, recordingMaxBytes: e.RECORDING_MAX_MB * mb };
    this.timeouts = { requestMs: e.REQUEST_TIMEOUT_SECONDS * 1000, uploadIdleMs: e.UPLOAD_IDLE_TIMEOUT_SECONDS * 1000 };
  }

  static fromEnv(raw: Record<string, string | undefined> = process.env): AppConfig {
    return new AppConfig(validateEnvironment(raw));
  }

  get embeddedDatabase(): boolean {
    return this.database.embedded !== undefined;
  }
}
