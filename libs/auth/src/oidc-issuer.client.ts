import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import * as oidc from 'openid-client';
import type { OidcIssuerSettings } from '#libs/config';
import { GatewayError, unauthorized } from '#libs/protocol';

// Keys are re-read in the background this often, so a key the IdP withdrew stops being accepted.
const JWKS_REFRESH_MS = 10 * 60_000;
// A failed discovery is retried at most this often.
const DISCOVERY_RETRY_MS = 1_000;
// Inactive introspection answers are remembered this long (tokens never become active again).
const INACTIVE_CACHE_MS = 60_000;
const INTROSPECTION_CACHE_MAX = 50_000;

/** Claims of a validated access token, from its JWT or from introspection. */
export type AccessTokenClaims = JWTPayload & Record<string, unknown>;

interface KeySet {
  resolve: JWTVerifyGetKey;
  kids: Set<string>;
  fetchedAt: number;
}

/**
 * The enterprise IdP as the gateway uses it: discovery (`openid-client`), the issuer's JWKS
 * (`jose`), and RFC 7662 introspection for opaque tokens. Every failure to reach the IdP is
 * `UNAVAILABLE`; every token it cannot vouch for is `UNAUTHORIZED`. Nothing is ever accepted
 * because the IdP could not be asked.
 */
export class OidcIssuerClient {
  private readonly logger: Logger;
  private configuration: oidc.Configuration | null = null;
  private discovering: Promise<oidc.Configuration> | null = null;
  private lastDiscoveryAttempt = 0;
  private keys: KeySet | null = null;
  private fetchingKeys: Promise<KeySet> | null = null;
  private lastKeyFetch = 0;
  private readonly introspections = new Map<string, { claims: AccessTokenClaims | null; until: number }>();

  /** `name` tells the two apart in logs: agent tokens (`OIDC_*`) and admin tokens (`ADMIN_OIDC_*`). */
  constructor(
    private readonly settings: OidcIssuerSettings,
    name = 'OidcIssuer',
  ) {
    this.logger = new Logger(name);
  }

  /** The issuer's metadata (authorization and token endpoints for the browser login). */
  metadata(): Promise<oidc.Configuration> {
    return this.discovery();
  }

  /** A JWT (three dot-separated parts) is verified locally; anything else is introspected. */
  verifyAccessToken(token: string): Promise<AccessTokenClaims> {
    return token.split('.').length === 3 ? this.verifyJwt(token) : this.introspect(token);
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  /** Validates a JWT access token: signature by a key of the issuer's JWKS, `iss`, `aud`, `exp`, `nbf`, algorithm. */
  async verifyJwt(token: string): Promise<AccessTokenClaims> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      kid = header.kid;
      if (!header.alg || !this.settings.algorithms.includes(header.alg)) {
        throw unauthorized('invalid_token', `access token rejected: algorithm "${String(header.alg)}" is not accepted`);
      }
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw unauthorized('malformed_token', 'access token rejected: malformed JWT');
    }
    const keys = await this.keysFor(kid);
    try {
      const { payload } = await jwtVerify(token, keys.resolve, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockSkewS,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (error) {
      throw this.rejection(error);
    }
  }

  /** Introspects an opaque token (RFC 7662); the answer is cached by the token's hash until it expires. */
  async introspect(token: string): Promise<AccessTokenClaims> {
    if (!this.settings.clientId || !this.settings.clientSecret) {
      throw unauthorized('method_not_accepted', 'opaque access tokens are not accepted (no introspection client configured)');
    }
    const key = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const cached = this.introspections.get(key);
    if (cached && cached.until > now) return this.activeOrRefuse(cached.claims);
    const configuration = await this.discovery();
    let response: oidc.IntrospectionResponse;
    try {
      response = await oidc.tokenIntrospection(configuration, token);
    } catch (error) {
      this.logger.warn(`introspection failed: ${(error as Error).message}`);
      throw new GatewayError('UNAVAILABLE', 'identity provider unavailable; retry later', { cause: error });
    }
    const claims = this.checkIntrospection(response, now);
    const until = claims?.exp ? claims.exp * 1000 : now + INACTIVE_CACHE_MS;
    if (this.introspections.size >= INTROSPECTION_CACHE_MAX) this.pruneIntrospections(now);
    this.introspections.set(key, { claims, until: claims ? until : now + INACTIVE_CACHE_MS });
    return this.activeOrRefuse(claims);
  }

  private activeOrRefuse(claims: AccessTokenClaims | null): AccessTokenClaims {
    if (!claims) throw unauthorized('invalid_token', 'access token rejected: not active');
    return claims;
  }

  /** The claims of an active token whose issuer and audience are ours, or null. */
  private checkIntrospection(response: oidc.IntrospectionResponse, now: number): AccessTokenClaims | null {
    if (!response.active) return null;
    const claims = response as unknown as AccessTokenClaims;
    const skew = this.settings.clockSkewS * 1000;
    if (claims.iss !== undefined && claims.iss !== this.settings.issuer) return null;
    const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    // Fail closed: an answer that does not name our audience is not a token for us.
    if (!audiences.includes(this.settings.audience)) return null;
    if (typeof claims.exp === 'number' && claims.exp * 1000 + skew <= now) return null;
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 - skew > now) return null;
    return { ...claims, iss: claims.iss ?? this.settings.issuer };
  }

  private pruneIntrospections(now: number): void {
    for (const [key, entry] of this.introspections) if (entry.until <= now) this.introspections.delete(key);
    if (this.introspections.size >= INTROSPECTION_CACHE_MAX) this.introspections.clear();
  }

  /** The issuer's metadata; retried on the next call after a failure. */
  private async discovery(): Promise<oidc.Configuration> {
    if (this.configuration) return this.configuration;
    if (this.discovering) return this.discovering;
    if (Date.now() - this.lastDiscoveryAttempt < DISCOVERY_RETRY_MS)
      throw new GatewayError('UNAVAILABLE', 'identity provider unavailable; retry later');
    this.lastDiscoveryAttempt = Date.now();
    const { clientId, clientSecret, allowHttp, httpTimeoutMs } = this.settings;
    this.discovering = oidc
      .discovery(
        new URL(this.settings.issuer),
        clientId ?? 'agent-gateway',
        undefined,
        clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
        {
          timeout: Math.max(1, Math.ceil(httpTimeoutMs / 1000)),
          ...(allowHttp && { execute: [oidc.allowInsecureRequests] }),
        },
      )
      .then(
        (configuration) => {
          this.configuration = configuration;
          this.logger.log(`discovered ${this.settings.issuer}`);
          return configuration;
        },
        (error: Error) => {
          this.logger.warn(`discovery of ${this.settings.issuer} failed: ${error.message}`);
          throw new GatewayError('UNAVAILABLE', 'identity provider unavailable; retry later', { cause: error });
        },
      )
      .finally(() => {
        this.discovering = null;
      });
    return this.discovering;
  }

  /**
   * The key set to verify a token signed with `kid`. An unknown `kid` refetches the JWKS, at most
   * once per `OIDC_JWKS_COOLDOWN_S`; stale keys are refreshed in the background and kept if the
   * refresh fails, so a short IdP outage does not stop known keys from working.
   */
  private async keysFor(kid: string | undefined): Promise<KeySet> {
    const now = Date.now();
    if (!this.keys) return this.fetchKeys();
    if (kid !== undefined && !this.keys.kids.has(kid)) {
      if (now - this.lastKeyFetch >= this.settings.jwksCooldownS * 1000) return this.fetchKeys();
      throw unauthorized('invalid_token', 'access token rejected: unknown signing key');
    }
    if (now - this.keys.fetchedAt > JWKS_REFRESH_MS && !this.fetchingKeys) {
      this.fetchKeys().catch(() => undefined);
    }
    return this.keys;
  }

  private fetchKeys(): Promise<KeySet> {
    if (this.fetchingKeys) return this.fetchingKeys;
    this.lastKeyFetch = Date.now();
    this.fetchingKeys = (async () => {
      const configuration = await this.discovery();
      const uri = configuration.serverMetadata().jwks_uri;
      if (!uri) throw new GatewayError('UNAVAILABLE', 'identity provider publishes no JWKS');
      let jwks: JSONWebKeySet;
      try {
        const response = await fetch(uri, {
          signal: AbortSignal.timeout(this.settings.httpTimeoutMs),
          headers: { accept: 'application/json' },
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        jwks = (await response.json()) as JSONWebKeySet;
        if (!Array.isArray(jwks.keys)) throw new Error('not a JWKS');
      } catch (error) {
        this.logger.warn(`JWKS fetch from ${uri} failed: ${(error as Error).message}`);
        throw new GatewayError('UNAVAILABLE', 'identity provider unavailable; retry later', { cause: error });
      }
      const keys: KeySet = {
        resolve: createLocalJWKSet(jwks),
        kids: new Set(jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string')),
        fetchedAt: Date.now(),
      };
      this.keys = keys;
      return keys;
    })().finally(() => {
      this.fetchingKeys = null;
    });
    return this.fetchingKeys;
  }

  private rejection(error: unknown): GatewayError {
    if (error instanceof GatewayError) return error;
    if (error instanceof errors.JWTExpired) return unauthorized('expired', 'access token rejected: expired');
    if (error instanceof errors.JWTClaimValidationFailed) return unauthorized('invalid_token', `access token rejected: ${error.message}`);
    if (error instanceof errors.JWKSNoMatchingKey) return unauthorized('invalid_token', 'access token rejected: unknown signing key');
    if (error instanceof errors.JOSEAlgNotAllowed) return unauthorized('invalid_token', 'access token rejected: algorithm not accepted');
    if (error instanceof errors.JOSEError) return unauthorized('invalid_token', 'access token rejected: signature verification failed');
    return unauthorized('invalid_token', 'access token rejected');
  }
}
