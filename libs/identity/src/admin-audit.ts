import type { AuditAction, AuditActor, AuditTrail } from '#libs/audit';
import type { Agent } from '#libs/persistence';

/** Records an admin mutation: who, what, on which tenant, and the state before and after. */
export function recordMutation(
  audit: AuditTrail,
  actor: AuditActor,
  action: AuditAction,
  tenantId: string | null,
  subject: string,
  details: Record<string, unknown>,
): void {
  audit.record({
    action,
    tenant_id: tenantId,
    actor,
    subject,
    outcome: 'allowed',
    reason: null,
    session_id: null,
    remote_addr: null,
    details,
  });
}

/** An agent as an audit record shows it: of a remote agent's credential, only its type. */
export function agentState(agent: Agent): Record<string, unknown> {
  return {
    agent_id: agent.id,
    tenant_id: agent.tenantId,
    agent_name: agent.name,
    capabilities: agent.capabilities,
    description: agent.description,
    metadata: agent.metadata,
    status: agent.status,
    ...(agent.a2aUrl !== null && { a2a_url: agent.a2aUrl, a2a_credential_type: agent.a2aCredentialType }),
  };
}
