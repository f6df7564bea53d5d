import type { Agent, ApiToken, CertificateBinding, OidcSubject, Tenant } from '#libs/persistence';
import type { Page } from '#libs/identity';

/** A list answer of the admin API (contract §7). */
export interface ListResponse<T> {
  items: T[];
  next_cursor: string | null;
}

export function presentPage<M, T>(page: Page<M>, present: (model: M) => T): ListResponse<T> {
  return { items: page.items.map(present), next_cursor: page.nextCursor };
}

export function presentTenant(t: Tenant) {
  return { tenant_id: t.id, name: t.name, created_at: t.createdAt.toISOString() };
}

export function presentAgent(a: Agent) {
  return {
    agent_id: a.id,
    tenant_id: a.tenantId,
    agent_name: a.name,
    capabilities: a.capabilities,
    description: a.description,
    metadata: a.metadata as Record<string, unknown>,
    status: a.status,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
    // A remote A2A agent: its URL, and of its credential only whether there is one and its type.
    ...(a.a2aUrl !== null && {
      a2a_url: a.a2aUrl,
      a2a_credential: a.a2aCredentialType === null ? null : { type: a.a2aCredentialType, configured: true as const },
    }),
  };
}

/** A token without its secret: only a hint tells tokens apart. */
export function presentToken(t: ApiToken) {
  return {
    token_id: t.id,
    agent_id: t.agentId,
    name: t.name,
    hint: t.hint,
    created_at: t.createdAt.toISOString(),
    expires_at: t.expiresAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
  };
}

const BINDING_FIELD = { fingerprint: 'fingerprint_sha256', spiffe: 'spiffe_id', cn: 'subject_cn' } as const;

export function presentCertificate(b: CertificateBinding) {
  return { id: b.id, agent_id: b.agentId, [BINDING_FIELD[b.kind]]: b.value, created_at: b.createdAt.toISOString() };
}

export function presentOidcSubject(s: OidcSubject) {
  return { id: s.id, agent_id: s.agentId, subject: s.subject, issuer: s.issuer, created_at: s.createdAt.toISOString() };
}
