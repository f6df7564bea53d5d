import { Injectable } from '@nestjs/common';
import { RedisService } from '#libs/redis';
import type { AdminRole } from './admin-principal.js';

/** A signed-in browser admin, as stored (under the SHA-256 of its cookie value, never the value). */
export interface AdminSessionRecord {
  /** How the session began; records written before break-glass sessions existed are `sso`. */
  kind?: 'sso' | 'break_glass';
  subject: string;
  roles: AdminRole[];
  tenantId: string | null;
  createdAt: string;
  expiresAt: string;
  /** Break-glass sessions: the fingerprint of `ADMIN_TOKEN` at sign-in (`BreakGlassCredential.fingerprint`). */
  credentialFingerprint?: string;
}

/** A login between `/admin/login` and `/admin/callback`: the PKCE verifier, nonce and where to go after. */
export interface PendingLogin {
  codeVerifier: string;
  nonce: string;
  returnTo: string;
}

/**
 * Browser admin sessions and pending logins in Redis, so every node of the cluster knows them.
 * Keys are digests; a record lives exactly as long as the session (Redis TTL).
 */
@Injectable()
export class AdminSessionRepository {
  constructor(private readonly redis: RedisService) {}

  async create(idDigest: string, record: AdminSessionRecord, ttlS: number): Promise<void> {
    await this.redis.command.set(this.redis.key('admin-session', idDigest), JSON.stringify(record), 'EX', ttlS);
  }

  async find(idDigest: string): Promise<AdminSessionRecord | null> {
    const raw = await this.redis.command.get(this.redis.key('admin-session', idDigest));
    return raw === null ? null : (JSON.parse(raw) as AdminSessionRecord);
  }

  async delete(idDigest: string): Promise<boolean> {
    return (await this.redis.command.del(this.redis.key('admin-session', idDigest))) === 1;
  }

  async savePending(stateDigest: string, login: PendingLogin, ttlS: number): Promise<void> {
    await this.redis.command.set(this.redis.key('admin-login', stateDigest), JSON.stringify(login), 'EX', ttlS);
  }

  /** The pending login, removed in the same step: a state is good for one callback only. */
  async takePending(stateDigest: string): Promise<PendingLogin | null> {
    const raw = await this.redis.command.getdel(this.redis.key('admin-login', stateDigest));
    return raw === null ? null : (JSON.parse(raw) as PendingLogin);
  }
}
