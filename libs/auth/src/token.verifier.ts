import { Injectable, Logger } from '@nestjs/common';
import { ApiTokenRepository, hashApiToken, looksLikeApiToken, API_TOKEN_PREFIX } from '#libs/identity';
import { GatewayError, unauthorized } from '#libs/protocol';
import { profileOf } from './agent-profile.js';
import type { CredentialVerifier } from './credential.verifier.js';
import type { PresentedCredentials, Principal } from './principal.js';

const TOUCH_INTERVAL_MS = 60_000;

/** `token`: an opaque API token (`agt_…`) looked up by its SHA-256 hash. */
@Injectable()
export class TokenVerifier implements CredentialVerifier {
  readonly method = 'token' as const;
  private readonly logger = new Logger('TokenVerifier');
  private readonly lastTouched = new Map<string, number>();

  constructor(private readonly tokens: ApiTokenRepository) {}

  accepts(credentials: PresentedCredentials): boolean {
    return credentials.token?.startsWith(API_TOKEN_PREFIX) === true;
  }

  async verify(credentials: PresentedCredentials): Promise<Principal> {
    const token = credentials.token ?? '';
    // The reason tells a revoked or expired token from an unknown one only to whoever holds the
    // token itself (256 bits: never guessed), so it reveals nothing to anyone else.
    if (!looksLikeApiToken(token)) throw unauthorized('malformed_token', 'not an API token (agt_ followed by 43 base64url characters)');
    let record;
    try {
      record = await this.tokens.findByHash(hashApiToken(token));
    } catch (error) {
      this.logger.error(`credential store unavailable: ${(error as Error).message}`);
      throw new GatewayError('UNAVAILABLE', 'credential store unavailable', { cause: error });
    }
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

  private touch(id: string, now: Date): void {
    const last = this.lastTouched.get(id) ?? 0;
    if (now.getTime() - last < TOUCH_INTERVAL_MS) return;
    this.lastTouched.set(id, now.getTime());
    if (this.lastTouched.size > 100_000) this.lastTouched.clear();
    this.tokens.touch(id, now).catch((error: Error) => this.logger.warn(`could not record token use: ${error.message}`));
  }
}
