import { Injectable } from '@nestjs/common';
import { AuditTrail, type AuditActor } from '#libs/audit';
import type { ApiToken, CertificateBinding, CertificateBindingKind, OidcSubject } from '#libs/persistence';
import { GatewayError } from '#libs/protocol';
import { recordMutation } from './admin-audit.js';
import { AgentRepository } from './agent.repository.js';
import { ApiTokenRepository } from './api-token.repository.js';
import { API_TOKEN_NAME_PATTERN, API_TOKEN_NAME_RULE, apiTokenHint, generateApiToken, hashApiToken } from './api-token.js';
import { CertificateBindingRepository } from './certificate-binding.repository.js';
import { IdentityEventsBus } from './identity-events.bus.js';
import { OidcSubjectRepository } from './oidc-subject.repository.js';
import type { Page, PageRequest } from './paging.js';

/** A token as returned once, at creation. */
export interface IssuedApiToken {
  token_id: string;
  name: string | null;
  token: string;
  expires_at: string | null;
}

/** What a new token is given: an optional name and an optional expiry. */
export interface ApiTokenOptions {
  name: string | null;
  expiresAt: Date | null;
}

/** How a certificate is bound: exactly one of these. */
/** The kinds of credentials an admin manages by id. */
export type CredentialKind = 'token' | 'certificate' | 'oidc_subject';

export type CertificateSelector = { fingerprint_sha256: string } | { spiffe_id: string } | { subject_cn: string };

const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;

/**
 * The credentials of agents: API tokens, certificate bindings, OIDC subject bindings. Revoking one
 * ends the live sessions it covers on every node.
 */
@Injectable()
export class CredentialService {
  constructor(
    private readonly agents: AgentRepository,
    private readonly tokens: ApiTokenRepository,
    private readonly certificates: CertificateBindingRepository,
    private readonly subjects: OidcSubjectRepository,
    private readonly events: IdentityEventsBus,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Issues a new API token; the plain token exists only in the return value. The name is checked
   * here too (not only by the admin API's schema): the CLI calls this directly.
   */
  async issueToken(
    agentId: string,
    { name, expiresAt }: ApiTokenOptions,
    actor: AuditActor,
  ): Promise<{ issued: IssuedApiToken; record: ApiToken }> {
    if (name !== null && !API_TOKEN_NAME_PATTERN.test(name)) throw new GatewayError('INVALID_MESSAGE', `name: ${API_TOKEN_NAME_RULE}`);
    if (expiresAt !== null && expiresAt.getTime() <= Date.now())
      throw new GatewayError('INVALID_MESSAGE', 'expires_at: must be in the future');
    const tenantId = await this.requireAgent(agentId);
    const token = generateApiToken();
    const record = await this.tokens.create(agentId, { hash: hashApiToken(token), hint: apiTokenHint(token), name, expiresAt });
    const expires = record.expiresAt?.toISOString() ?? null;
    recordMutation(this.audit, actor, 'credential.created', tenantId, agentId, {
      after: { kind: 'token', token_id: record.id, name: record.name, hint: record.hint, expires_at: expires },
    });
    return { issued: { token_id: record.id, name: record.name, token, expires_at: expires }, record };
  }

  async listTokens(agentId: string, page: PageRequest): Promise<Page<ApiToken>> {
    await this.requireAgent(agentId);
    return this.tokens.listForAgent(agentId, page);
  }

  /** Revokes a token (idempotent) and disconnects the sessions that use it; returns it before and after. */
  async revokeToken(tokenId: string, actor: AuditActor): Promise<{ before: ApiToken; after: ApiToken }> {
    const result = isUuid(tokenId) ? await this.tokens.revoke(tokenId, new Date()) : null;
    if (!result) throw new GatewayError('NOT_FOUND', `token "${tokenId}" does not exist`);
    const agent = await this.agents.find(result.after.agentId);
    recordMutation(this.audit, actor, 'credential.revoked', agent?.tenantId ?? null, result.after.agentId, {
      before: { kind: 'token', token_id: tokenId, revoked_at: result.before.revokedAt?.toISOString() ?? null },
      after: { kind: 'token', token_id: tokenId, revoked_at: result.after.revokedAt?.toISOString() ?? null },
    });
    await this.events.publish({ type: 'credential_revoked', credential_id: tokenId, agent_id: result.after.agentId });
    return result;
  }

  async bindCertificate(agentId: string, selector: CertificateSelector, actor: AuditActor): Promise<CertificateBinding> {
    const tenantId = await this.requireAgent(agentId);
    const [kind, value] = normalizeSelector(selector);
    const binding = await this.certificates.create(agentId, kind, value);
    recordMutation(this.audit, actor, 'credential.created', tenantId, agentId, {
      after: { kind: 'certificate', binding_id: binding.id, match: kind, value },
    });
    return binding;
  }

  async listCertificates(agentId: string, page: PageRequest): Promise<Page<CertificateBinding>> {
    await this.requireAgent(agentId);
    return this.certificates.listForAgent(agentId, page);
  }

  async unbindCertificate(id: string, actor: AuditActor): Promise<CertificateBinding> {
    const deleted = isUuid(id) ? await this.certificates.delete(id) : null;
    if (!deleted) throw new GatewayError('NOT_FOUND', `certificate binding "${id}" does not exist`);
    const agent = await this.agents.find(deleted.agentId);
    recordMutation(this.audit, actor, 'credential.revoked', agent?.tenantId ?? null, deleted.agentId, {
      before: { kind: 'certificate', binding_id: id, match: deleted.kind, value: deleted.value },
    });
    await this.events.publish({ type: 'credential_revoked', credential_id: id, agent_id: deleted.agentId });
    return deleted;
  }

  async bindOidcSubject(agentId: string, subject: string, issuer: string | null, actor: AuditActor): Promise<OidcSubject> {
    const tenantId = await this.requireAgent(agentId);
    const binding = await this.subjects.create(agentId, subject, issuer);
    recordMutation(this.audit, actor, 'credential.created', tenantId, agentId, {
      after: { kind: 'oidc_subject', binding_id: binding.id, subject, issuer },
    });
    return binding;
  }

  async listOidcSubjects(agentId: string, page: PageRequest): Promise<Page<OidcSubject>> {
    await this.requireAgent(agentId);
    return this.subjects.listForAgent(agentId, page);
  }

  async unbindOidcSubject(id: string, actor: AuditActor): Promise<OidcSubject> {
    const deleted = isUuid(id) ? await this.subjects.delete(id) : null;
    if (!deleted) throw new GatewayError('NOT_FOUND', `OIDC subject binding "${id}" does not exist`);
    const agent = await this.agents.find(deleted.agentId);
    recordMutation(this.audit, actor, 'credential.revoked', agent?.tenantId ?? null, deleted.agentId, {
      before: { kind: 'oidc_subject', binding_id: id, subject: deleted.subject, issuer: deleted.issuer },
    });
    await this.events.publish({ type: 'credential_revoked', credential_id: id, agent_id: deleted.agentId });
    return deleted;
  }

  /** The agent and tenant a credential belongs to, or null when it does not exist. */
  async ownerOf(kind: CredentialKind, id: string): Promise<{ agentId: string; tenantId: string } | null> {
    if (!isUuid(id)) return null;
    const credential =
      kind === 'token'
        ? await this.tokens.find(id)
        : kind === 'certificate'
          ? await this.certificates.find(id)
          : await this.subjects.find(id);
    if (!credential) return null;
    const agent = await this.agents.find(credential.agentId);
    return agent ? { agentId: agent.id, tenantId: agent.tenantId } : null;
  }

  /** The agent's tenant; `AGENT_NOT_FOUND` when it is not registered. */
  private async requireAgent(agentId: string): Promise<string> {
    const agent = await this.agents.find(agentId);
    if (!agent) throw new GatewayError('AGENT_NOT_FOUND', `agent "${agentId}" is not registered`);
    return agent.tenantId;
  }
}

/** A fingerprint as stored: 64 lowercase hex characters, no colons. */
export function normalizeFingerprint(value: string): string | null {
  const hex = value.replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

function normalizeSelector(selector: CertificateSelector): [CertificateBindingKind, string] {
  if ('fingerprint_sha256' in selector) {
    const fingerprint = normalizeFingerprint(selector.fingerprint_sha256);
    if (!fingerprint) throw new GatewayError('INVALID_MESSAGE', 'fingerprint_sha256: must be 64 hex digits (colons allowed)');
    return ['fingerprint', fingerprint];
  }
  if ('spiffe_id' in selector) {
    if (!SPIFFE_ID.test(selector.spiffe_id))
      throw new GatewayError('INVALID_MESSAGE', 'spiffe_id: must be a SPIFFE ID, spiffe://<trust-domain>/<path>');
    return ['spiffe', selector.spiffe_id];
  }
  return ['cn', selector.subject_cn];
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
