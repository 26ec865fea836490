import { Injectable } from '@nestjs/common';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppConfig } from '../config/app-config';
import { DomainException } from '../errors/domain.exception';
import { isRole, STAFF_ROLES, type Principal, type Role, type StaffRole } from './principal';

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

export interface MintOptions {
  subject: string;
  roles: Role[];
  locale?: string;
  /** Lifetime in seconds; default 8 hours (a working day at the console), at most the holder's cap. */
  ttlSeconds?: number;
}

/**
 * Verifies bearer tokens: HS256 tokens signed with our own secret (embedded
 * default and local tooling), and tokens from an OIDC issuer checked against
 * its JWKS. Only asymmetric algorithms are accepted from the issuer, so a token
 * cannot pass by signing with a public key as an HMAC secret.
 */
@Injectable()
export class TokenService {
  private readonly secret?: Uint8Array;
  private jwks?: Promise<JWTVerifyGetKey>;

  constructor(private readonly config: AppConfig) {
    const secret = config.auth.hs256Secret;
    this.secret = secret ? new TextEncoder().encode(secret) : undefined;
  }

  async verify(token: string): Promise<Principal> {
    return (await this.verifySession(token)).principal;
  }

  /** The principal, and when its token expires (ms since the epoch): a socket lives no longer than its token. */
  async verifySession(token: string): Promise<{ principal: Principal; expiresAt: number }> {
    let header: { alg?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthenticated('The access token is malformed');
    }
    let payload: JWTPayload;
    let rolesClaim = 'roles';
    try {
      if (header.alg === 'HS256' && this.secret) {
        ({ payload } = await jwtVerify(token, this.secret, {
          algorithms: ['HS256'],
          issuer: this.config.auth.issuer,
          audience: this.config.auth.audience,
          ...this.timeChecks(),
        }));
      } else if (this.config.auth.oidc && header.alg && ASYMMETRIC_ALGS.includes(header.alg)) {
        const oidc = this.config.auth.oidc;
        ({ payload } = await jwtVerify(token, await this.issuerKeys(), {
          algorithms: ASYMMETRIC_ALGS,
          issuer: oidc.issuer,
          audience: oidc.audience,
          ...this.timeChecks(),
        }));
        rolesClaim = oidc.rolesClaim;
      } else {
        throw unauthenticated('The access token is signed in a way this service does not accept');
      }
    } catch (err) {
      if (err instanceof DomainException) throw err;
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'exp') throw unauthenticated('The access token has no valid expiry (exp)');
      throw unauthenticated('The access token is not valid');
    }
    const principal = toPrincipal(payload, rolesClaim);
    this.checkLifetime(payload, principal);
    return { principal, expiresAt: payload.exp! * 1000 };
  }

  private timeChecks() {
    return { requiredClaims: ['exp'], clockTolerance: this.config.auth.clockSkewSeconds };
  }

  /**
   * A stolen token must not work for long: no `iat` in the future, and no
   * lifetime (from `iat`, or from now) above the cap for its kind of holder.
   */
  private checkLifetime(payload: JWTPayload, principal: Principal): void {
    const now = Math.floor(Date.now() / 1000);
    const skew = this.config.auth.clockSkewSeconds;
    const max = this.config.auth.maxLifetimeSeconds[principal.kind];
    if (typeof payload.iat === 'number' && payload.iat > now + skew) throw unauthenticated('The access token was issued in the future (iat)');
    const from = typeof payload.iat === 'number' ? Math.min(payload.iat, now) : now;
    if (payload.exp! - from > max + skew) {
      throw unauthenticated(`The access token lives longer than this service accepts (${Math.round(max / 3600)} h at most)`);
    }
  }

  /** Mints an HS256 token with the configured secret (local tooling and demo tokens). */
  async mint(options: MintOptions): Promise<string> {
    if (!this.secret) throw new Error('JWT_SECRET is not configured; cannot mint tokens');
    const max = this.config.auth.maxLifetimeSeconds[options.roles.includes('customer') ? 'customer' : 'staff'];
    if ((options.ttlSeconds ?? 0) > max) throw new Error(`A token lives at most ${max / 3600} h here (STAFF_TOKEN_MAX_HOURS, CUSTOMER_TOKEN_MAX_HOURS)`);
    const claims: JWTPayload = { roles: options.roles };
    if (options.locale) claims.locale = options.locale;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(options.subject)
      .setIssuer(this.config.auth.issuer)
      .setAudience(this.config.auth.audience)
      .setIssuedAt()
      .setExpirationTime(`${options.ttlSeconds ?? 8 * 3600}s`)
      .sign(this.secret);
  }

  private issuerKeys(): Promise<JWTVerifyGetKey> {
    this.jwks ??= this.resolveJwks().catch((err: unknown) => {
      this.jwks = undefined; // try discovery again on the next request
      throw err;
    });
    return this.jwks;
  }

  private async resolveJwks(): Promise<JWTVerifyGetKey> {
    const oidc = this.config.auth.oidc!;
    let uri = oidc.jwksUri;
    if (!uri) {
      const discovery = new URL('.well-known/openid-configuration', oidc.issuer.endsWith('/') ? oidc.issuer : `${oidc.issuer}/`);
      const response = await fetch(discovery, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
      uri = ((await response.json()) as { jwks_uri?: string }).jwks_uri;
      if (!uri) throw new Error('OIDC discovery document has no jwks_uri');
    }
    return createRemoteJWKSet(new URL(uri));
  }
}

function toPrincipal(payload: JWTPayload, rolesClaim: string): Principal {
  const subject = payload.sub;
  if (!subject) throw unauthenticated('The access token has no subject');
  const raw = readClaim(payload, rolesClaim) ?? payload['role'];
  const list = (Array.isArray(raw) ? raw : [raw]).filter(isRole);
  const roles = [...new Set(list)];
  if (roles.length === 0) throw new DomainException('FORBIDDEN', 'The access token grants no role in this service');
  if (roles.includes('customer')) {
    // A customer token acting as staff (or the reverse) would blur who consented to what (R1.1).
    if (roles.length > 1) throw unauthenticated('A token cannot be both customer and staff');
    const locale = typeof payload['locale'] === 'string' && LOCALE.test(payload['locale']) ? payload['locale'] : undefined;
    return { kind: 'customer', subject, roles: ['customer'], locale };
  }
  return { kind: 'staff', subject, roles: roles.filter((r): r is StaffRole => (STAFF_ROLES as readonly string[]).includes(r)) };
}

/** Reads a claim by dotted path, e.g. `realm_access.roles`. */
function readClaim(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function unauthenticated(message: string): DomainException {
  return new DomainException('UNAUTHENTICATED', message);
}
