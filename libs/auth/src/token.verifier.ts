import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  API_TOKEN_PREFIX,
  ApiTokenRepository,
  IdentityEventsBus,
  hashApiToken,
  looksLikeApiToken,
  type ApiTokenWithAgent,
} from '#libs/identity';
import { GatewayError, unauthorized } from '#libs/protocol';
import { profileOf } from './agent-profile.js';
import type { CredentialVerifier } from './credential.verifier.js';
import type { PresentedCredentials, Principal } from './principal.js';

const TOUCH_INTERVAL_MS = 60_000;
/**
 * How long a token's record read from Postgres answers the next verifications of the same token (an
 * HTTP, A2A or MCP caller authenticates on every request). Any identity event (a revocation, an
 * agent disabled or changed) empties the cache on every node at once; this bounds a lost event to
 * the second revocation is promised in.
 */
export const TOKEN_CACHE_TTL_MS = 1_000;
const TOKEN_CACHE_MAX = 10_000;

/** `token`: an opaque API token (`agt_…`) looked up by its SHA-256 hash. */
@Injectable()
export class TokenVerifier implements CredentialVerifier, OnModuleInit {
  readonly method = 'token' as const;
  private readonly logger = new Logger('TokenVerifier');
  private readonly lastTouched = new Map<string, number>();
  /** Token hash → its record and when it was read (only tokens that exist). */
  private readonly cache = new Map<string, { record: ApiTokenWithAgent; readAt: number }>();
  /** Bumped by every identity event: a read that began before one is not cached. */
  private generation = 0;

  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly events: IdentityEventsBus,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.events.subscribe(() => {
      this.generation++;
      this.cache.clear();
    });
  }

  accepts(credentials: PresentedCredentials): boolean {
    return credentials.token?.startsWith(API_TOKEN_PREFIX) === true;
  }

  async verify(credentials: PresentedCredentials): Promise<Principal> {
    const token = credentials.token ?? '';
    // The reason tells a revoked or expired token from an unknown one only to whoever holds the
    // token itself (256 bits: never guessed), so it reveals nothing to anyone else.
    if (!looksLikeApiToken(token)) throw unauthorized('malformed_token', 'not an API token (agt_ followed by 43 base64url characters)');
    const record = await this.lookup(hashApiToken(token));
    const now = new Date();
    if (!record) throw unauthorized('unknown_token', 'unknown API token');
    if (record.revokedAt !== null) throw unauthorized('revoked', 'this API token was revoked');
    if (record.expiresAt !== null && record.expiresAt <= now) throw unauthorized('expired', 'this API token expired');
    if (record.agent.status !== 'enabled') throw unauthorized('agent_disabled', 'agent is disabled');
    this.touch(record.id, now);
    return {
      tenantId: record.agent.tenantId,
      agentId: record.agent.id,
      method: 'token',
      credentialId: record.id,
      expiresAt: record.expiresAt,
      profile: profileOf(record.agent),
    };
  }

  /** The token's record: from the cache while fresh, else from Postgres (then cached if it exists). */
  private async lookup(hash: string): Promise<ApiTokenWithAgent | null> {
    const cached = this.cache.get(hash);
    if (cached && Date.now() - cached.readAt < TOKEN_CACHE_TTL_MS) return cached.record;
    const generation = this.generation;
    let record;
    try {
      record = await this.tokens.findByHash(hash);
    } catch (error) {
      this.logger.error(`credential store unavailable: ${(error as Error).message}`);
      throw new GatewayError('UNAVAILABLE', 'credential store unavailable', { cause: error });
    }
    if (this.cache.size >= TOKEN_CACHE_MAX) this.cache.clear();
    if (record && generation === this.generation) this.cache.set(hash, { record, readAt: Date.now() });
    else this.cache.delete(hash);
    return record;
  }

  private touch(id: string, now: Date): void {
    const last = this.lastTouched.get(id) ?? 0;
    if (now.getTime() - last < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now.getTime());
    if (this.lastTouched.size > 100_000) this.lastTouched.clear();
    this.tokens.touch(id, now).catch((error: Error) => this.logger.warn(`could not record token use: ${error.message}`));
  }
}
